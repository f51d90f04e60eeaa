"""A real OpenID Connect provider for the SSO tests, and a browser to sign in with.

`tests/support/oidc/provider.mjs` (the npm package oidc-provider) runs on loopback for
the whole test session; `browse()` plays the browser through its sign-in and consent
pages, the way a person would, and returns the URL the IdP sends them back to.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from shared.auth.oidc import OidcSettings

PROVIDER_DIR = Path(__file__).resolve().parents[2] / "support" / "oidc"
CLIENT_ID = "paydesk-staff"
CLIENT_SECRET = "paydesk-sso-test-secret"
REDIRECT_URI = "http://127.0.0.1:8000/staff/login/sso/callback"
ROLE_MAP = "paydesk-agents=agent,paydesk-supervisors=supervisor,finance-team=finance"
ACCOUNTS = {
    "alice": {"name": "Alice Agent", "email": "alice@example.org", "groups": ["paydesk-agents"]},
    "sam": {
        "name": "Sam Supervisor",
        "email": "sam@example.org",
        "groups": ["paydesk-supervisors", "everyone"],
    },
    "fran": {
        "name": "Fran Finance",
        "email": "fran@example.org",
        "groups": ["finance-team", "paydesk-agents"],
    },
    "carol": {"name": "Carol Changes", "email": "carol@example.org", "groups": ["paydesk-agents"]},
    "nora": {"name": "Nora Nobody", "email": "nora@example.org", "groups": ["everyone"]},
}


@dataclass
class Provider:
    issuer: str
    accounts_file: Path
    log: Path

    def settings(self, **changes: str) -> OidcSettings:
        env = {
            "PAYDESK_OIDC_ISSUER": self.issuer,
            "PAYDESK_OIDC_CLIENT_ID": CLIENT_ID,
            "PAYDESK_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "PAYDESK_OIDC_REDIRECT_URI": REDIRECT_URI,
            "PAYDESK_OIDC_ROLE_MAP": ROLE_MAP,
        }
        env.update({f"PAYDESK_OIDC_{k.upper()}": v for k, v in changes.items()})
        return OidcSettings.from_env(env)

    def set_groups(self, login: str, groups: list[str]) -> None:
        self.set_account(login, groups=groups)

    def set_account(self, login: str, **fields: object) -> None:
        """Change or add an account at the IdP, e.g. `amr=["pwd", "mfa"]` for a second factor."""
        accounts = json.loads(self.accounts_file.read_text())
        accounts[login] = {**accounts.get(login, {}), **fields}
        self.accounts_file.write_text(json.dumps(accounts))

    def reset(self) -> None:
        self.accounts_file.write_text(json.dumps(ACCOUNTS))


def _first_line(process: subprocess.Popen[str], timeout: float) -> str | None:
    lines: list[str] = []
    stdout = process.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0].strip() if lines and lines[0].strip() else None


@contextlib.contextmanager
def run_provider(tmp: Path, *args: str) -> Iterator[Provider]:
    """Start provider.mjs on a free loopback port; stop it on the way out."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the SSO tests need it (scripts/bootstrap.sh test)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("oidc-provider is not installed: run scripts/bootstrap.sh test")
    accounts_file, log = tmp / "accounts.json", tmp / "provider.log"
    accounts_file.write_text(json.dumps(ACCOUNTS))
    command = [
        node,
        str(PROVIDER_DIR / "provider.mjs"),
        "--port=0",
        f"--client-id={CLIENT_ID}",
        f"--client-secret={CLIENT_SECRET}",
        f"--redirect-uri={REDIRECT_URI}",
        f"--accounts-file={accounts_file}",
        *args,
    ]
    with log.open("w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        issuer = _first_line(process, timeout=20)
        if issuer is None:
            raise RuntimeError(f"the OIDC provider did not start:\n{log.read_text()}")
        _wait_for_discovery(issuer)
        yield Provider(issuer, accounts_file, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _wait_for_discovery(issuer: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"no discovery document at {issuer}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    with run_provider(tmp_path_factory.mktemp("oidc")) as provider:
        yield provider


@pytest.fixture
def idp(oidc_provider: Provider) -> Iterator[Provider]:
    """The provider, with every account's groups as in ACCOUNTS at the start of the test."""
    oidc_provider.reset()
    yield oidc_provider
    oidc_provider.reset()


_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
_ABORT = re.compile(r'href="([^"]*/abort)"')


def browse(authorization_url: str, login: str, *, cancel: bool = False) -> str:
    """Sign in at the IdP as `login` (any password) and consent; the callback URL reached.

    With `cancel`, take the sign-in page's "cancel" link instead of signing in.
    """
    with httpx.Client(timeout=10) as browser:
        response = browser.get(authorization_url)
        for _ in range(20):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if target.startswith(REDIRECT_URI):
                    return target
                response = browser.get(target)
                continue
            assert response.status_code == 200, response.text
            page = response.text
            action = _FORM_ACTION.search(page)
            assert action is not None, page
            submit = urljoin(str(response.url), action.group(1))
            if 'name="prompt" value="login"' in page:
                if cancel:
                    abort = _ABORT.search(page)
                    assert abort is not None, page
                    response = browser.get(urljoin(str(response.url), abort.group(1)))
                    continue
                form = {"prompt": "login", "login": login, "password": "any password at all"}
                response = browser.post(submit, data=form)
            elif 'name="prompt" value="consent"' in page:
                response = browser.post(submit, data={"prompt": "consent"})
            else:
                raise AssertionError(f"unexpected IdP page:\n{page}")
    raise AssertionError("the IdP never sent the browser back")
