"""The staff console through the real app: middleware, server-side sessions, CSRF.

`console` is one app per backend per module, on a database of its own. Tests make their
own users (`console.user(...)`, unique usernames) and sign in with `sign_in`, which also
enrols or answers the TOTP step when the account needs one. A TOTP code works once, so
`totp(account)` remembers the last step it gave a code for and never repeats one."""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from paydesk.app import asgi, create_app
from paydesk.runtime import Runtime
from shared.actors import SYSTEM
from shared.auth.mfa import STEP_SECONDS
from shared.auth.staff_users import create_staff, ensure_default_roles
from shared.db import transaction
from shared.models import Department, Permission, Role, RoleAssignment
from shared.web.sessions import COOKIE_NAME
from tests.support.apps import BASE_URL, runtime_on_fresh_database

_counter = itertools.count(1)


@dataclass
class Account:
    id: int
    username: str
    password: str
    roles: list[str]
    mfa_secret: str | None = None
    # The latest TOTP step `totp()` gave a code for: the server accepts each step once.
    last_step: int | None = None


@dataclass
class Console:
    runtime: Runtime
    factory: sessionmaker[Session]

    def client(self, address: str = "testclient") -> TestClient:
        """A new browser: its own cookies, from `address`."""
        return TestClient(
            asgi(create_app(self.runtime)),
            base_url=BASE_URL,
            follow_redirects=False,
            client=(address, 50000),
        )

    def user(
        self,
        roles: list[str],
        *,
        departments: dict[str, int] | None = None,
        active: bool = True,
        mfa: bool = False,
    ) -> Account:
        """A new staff user; `departments` limits some of its roles to one department each.

        With `mfa`, the user has an authenticator already (no code used yet)."""
        username = f"staff-{next(_counter)}-{secrets.token_hex(2)}"
        password = f"pw-{secrets.token_hex(8)}"
        departments = departments or {}
        with transaction(self.factory) as db:
            user = create_staff(
                db,
                SYSTEM,
                username=username,
                password=password,
                display_name=username.title(),
                roles=[r for r in roles if r not in departments],
            )
            for role_name, department_id in departments.items():
                role = db.scalars(select(Role).where(Role.name == role_name)).one()
                db.add(
                    RoleAssignment(user_id=user.id, role_id=role.id, department_id=department_id)
                )
            user.active = active
            user.mfa_secret = pyotp.random_base32() if mfa else None
            return Account(user.id, username, password, roles, user.mfa_secret)

    def role(self, codes: set[str], name: str | None = None) -> str:
        """A custom role allowing exactly `codes`; returns its name."""
        name = name or f"custom-{next(_counter)}-{secrets.token_hex(2)}"
        with transaction(self.factory) as db:
            ensure_default_roles(db)
            known = {p.code: p for p in db.scalars(select(Permission))}
            db.add(Role(name=name, description=name, permissions=[known[c] for c in codes]))
        return name

    def department(self, name: str) -> int:
        with transaction(self.factory) as db:
            dept = Department(code=f"d{next(_counter)}{secrets.token_hex(2)}", name=name)
            db.add(dept)
            db.flush()
            return dept.id


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def console(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("staff")
    with runtime_on_fresh_database(
        request.param, tmp, secret_key="staff-tests", timezone="UTC"
    ) as runtime:
        yield Console(runtime, runtime.factory)


@pytest.fixture
def client(console: Console) -> TestClient:
    return console.client()


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SECRET = re.compile(r'<code class="mfa-secret">([A-Z2-7 ]+)</code>')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def csrf(client: TestClient) -> str:
    """The session's CSRF token, from the sign-in page (it has a form whatever the state)."""
    page = client.get("/staff/login")
    # Signed in already: the home page has forms too (or, with a temporary password, the
    # page for choosing a new one, where every page leads).
    for _ in range(2):
        if page.status_code == 303:
            page = client.get(page.headers["location"])
    return csrf_from(page.text)


def post_login(client: TestClient, username: str, password: str, next_: str = "") -> httpx.Response:
    return client.post(
        "/staff/login",
        data={
            "username": username,
            "password": password,
            "next": next_,
            "csrf_token": csrf(client),
        },
    )


def post(client: TestClient, url: str, data: dict[str, str] | None = None) -> httpx.Response:
    """POST a form the way a browser would: with the session's CSRF token."""
    return client.post(url, data={**(data or {}), "csrf_token": csrf(client)})


def secret_from(html: str) -> str:
    match = _SECRET.search(html)
    assert match, "no TOTP key on the page"
    return match.group(1).replace(" ", "")


def totp(account: Account) -> str:
    """A code for a time step the server has not accepted yet.

    This step's code, else the next step's (the server allows one step of clock drift),
    else, only for a third sign-in within one 30-second step, wait for the next step.
    Never an earlier step: a code for the previous step could expire before it is posted.
    """
    assert account.mfa_secret
    while True:
        now = int(time.time()) // STEP_SECONDS
        fresh = [s for s in (now, now + 1) if account.last_step is None or s > account.last_step]
        if fresh:
            account.last_step = fresh[0]
            return code_at(account, fresh[0])
        time.sleep(STEP_SECONDS - time.time() % STEP_SECONDS + 0.05)


def code_at(account: Account, step: int) -> str:
    assert account.mfa_secret
    return str(pyotp.TOTP(account.mfa_secret).generate_otp(step))


def answer_code_step(client: TestClient, account: Account, location: str) -> httpx.Response:
    """Enrol (learning the secret from the page) or give the code, as the page asks."""
    page = client.get(location)
    if location.endswith("/staff/login/setup"):
        account.mfa_secret = secret_from(page.text)
    return client.post(location, data={"code": totp(account), "csrf_token": csrf_from(page.text)})


def sign_in(client: TestClient, account: Account) -> None:
    """Sign in all the way: the password, then the code step if the account has one."""
    response = post_login(client, account.username, account.password)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    if location.endswith(("/staff/login/setup", "/staff/login/code")):
        done = answer_code_step(client, account, location)
        assert done.status_code == 303, done.text
    assert client.get("/staff/").status_code == 200


def signed_in(console: Console, roles: list[str], **kwargs: object) -> tuple[TestClient, Account]:
    client = console.client()
    account = console.user(roles, **kwargs)  # type: ignore[arg-type]
    sign_in(client, account)
    return client, account


def session_cookie(client: TestClient) -> str | None:
    return client.cookies.get(COOKIE_NAME)
