"""The lockdown launcher with the real Chromium (headless) and a real local app on loopback."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kiosk.launcher import (
    PROBE_USER_AGENT,
    LaunchSettings,
    Watchdog,
    chromium_flags,
    managed_policy,
    write_policy,
)
from kiosk.launcher import parser as launcher_parser
from paydesk import cli

CHROMIUM = "/usr/bin/chromium"
# Generous bounds for Chromium to start on a busy 2-core machine; never timing assertions.
WAIT = 60.0
# Headless for the tests (the kiosk runs it on a screen); no sandbox when tests run as root.
TEST_FLAGS = (
    "--headless=new",
    "--disable-gpu",
    *(("--no-sandbox",) if os.geteuid() == 0 else ()),
)

needs_chromium = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK), reason="needs Debian's chromium at /usr/bin/chromium"
)


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class KioskApp:
    """A stand-in for the kiosk runtime on 127.0.0.1: serves a page, records who asked."""

    def __init__(self, port: int, page: str = "<h1>Welcome</h1>") -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/"
        self.page = page
        self.requests: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        requests = self.requests
        page = f"<!doctype html><title>Kiosk</title>{self.page}".encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append((self.path, self.headers.get("User-Agent", "")))
                body = page
                self.send_response(200 if self.path == "/" else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)

    def browser_loads(self) -> int:
        """How many times a browser (not the launcher's probe) loaded the kiosk page."""
        return sum(
            1
            for path, agent in list(self.requests)
            if path == "/" and "Chrome/" in agent and agent != PROBE_USER_AGENT
        )

    def paths(self) -> list[str]:
        return [path for path, _ in list(self.requests)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def app() -> Iterator[KioskApp]:
    """The local app, not started yet: each test decides when it comes up."""
    made = KioskApp(free_port())
    yield made
    made.stop()


@pytest.fixture
def watchdog_for(tmp_path: Path) -> Iterator[Callable[[KioskApp], Watchdog]]:
    """Run a watchdog on headless Chromium in a thread; stopped (and joined) at teardown."""
    running: list[tuple[Watchdog, threading.Thread]] = []

    def start(app: KioskApp) -> Watchdog:
        settings = LaunchSettings(
            url=app.url,
            browser=CHROMIUM,
            policy_dir=tmp_path / "policies" / "managed",
            profile_dir=tmp_path / "profile",
            browser_flags=TEST_FLAGS,
            probe_interval=0.1,
            backoff_initial=0.2,
        )
        watchdog = Watchdog(settings)
        thread = threading.Thread(target=watchdog.run, daemon=True)
        thread.start()
        running.append((watchdog, thread))
        return watchdog

    yield start
    for watchdog, thread in running:
        watchdog.stop.set()
        thread.join(timeout=WAIT)
        assert not thread.is_alive()
        assert watchdog.browser_pid is None


def test_policy_allows_only_the_kiosk_origin_and_locks_the_browser_down(tmp_path: Path) -> None:
    path = write_policy(tmp_path / "managed", "http://127.0.0.1:8100/welcome")
    assert path == tmp_path / "managed" / "paydesk-kiosk.json"
    assert path.stat().st_mode & 0o777 == 0o644  # Chromium runs as the kiosk user
    policy = json.loads(path.read_text(encoding="utf-8"))
    assert policy["URLBlocklist"] == ["*"]
    assert policy["URLAllowlist"] == ["http://127.0.0.1:8100"]
    assert policy["DeveloperToolsAvailability"] == 2
    assert policy["PrintingEnabled"] is False
    assert policy["DownloadRestrictions"] == 3
    assert policy["PasswordManagerEnabled"] is False
    assert policy["AutofillCreditCardEnabled"] is False
    assert policy["TranslateEnabled"] is False
    # Written again on every start, the same file: nothing piles up in the directory.
    write_policy(tmp_path / "managed", "http://127.0.0.1:8100/")
    assert [p.name for p in (tmp_path / "managed").iterdir()] == ["paydesk-kiosk.json"]


def test_policy_only_from_the_cli_writes_the_file_and_exits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        [
            "kiosk",
            "launch",
            "--url",
            "http://127.0.0.1:8200/",
            "--policy-dir",
            str(tmp_path),
            "--policy-only",
        ]
    )
    assert code == 0
    assert str(tmp_path / "paydesk-kiosk.json") in capsys.readouterr().out
    policy = json.loads((tmp_path / "paydesk-kiosk.json").read_text(encoding="utf-8"))
    assert policy == managed_policy("http://127.0.0.1:8200/")


def test_a_url_that_is_not_a_web_origin_is_refused_clearly(tmp_path: Path) -> None:
    code = cli.main(["kiosk", "launch", "--url", "file:///etc/passwd", "--policy-only",
                     "--policy-dir", str(tmp_path)])  # fmt: skip
    assert code == 2
    assert not (tmp_path / "paydesk-kiosk.json").exists()


def test_the_browser_runs_with_the_lockdown_flags(tmp_path: Path) -> None:
    flags = chromium_flags("http://127.0.0.1:8100/", tmp_path)
    for flag in (
        "--kiosk",
        "--incognito",
        "--no-first-run",
        "--noerrdialogs",
        "--disable-pinch",
        "--overscroll-history-navigation=0",
        "--disable-translate",
        f"--user-data-dir={tmp_path}",
    ):
        assert flag in flags
    features = next(f for f in flags if f.startswith("--disable-features="))
    assert "Translate" in features.removeprefix("--disable-features=").split(",")
    assert not any("remote-debugging" in f for f in flags)
    assert flags[-1] == "http://127.0.0.1:8100/"


@needs_chromium
@pytest.mark.slow
def test_waits_for_the_app_then_opens_it_and_restarts_chromium_when_killed(
    app: KioskApp, watchdog_for: Callable[[KioskApp], Watchdog]
) -> None:
    watchdog = watchdog_for(app)
    # The app is not up: the launcher keeps asking and starts no browser.
    assert wait_until(lambda: watchdog.probes >= 5)
    assert watchdog.starts == 0
    assert watchdog.browser_pid is None

    app.start()
    assert wait_until(lambda: app.browser_loads() >= 1), app.requests
    assert watchdog.starts == 1
    first = watchdog.browser_pid
    assert first is not None
    assert (Path(watchdog.settings.policy_dir or "") / "paydesk-kiosk.json").exists()

    os.kill(first, signal.SIGKILL)  # the browser dies
    assert wait_until(lambda: app.browser_loads() >= 2), app.requests
    assert watchdog.starts == 2
    assert watchdog.browser_pid not in (None, first)


@needs_chromium
@pytest.mark.slow
def test_sigterm_stops_the_browser_and_the_launcher_cleanly(app: KioskApp, tmp_path: Path) -> None:
    app.start()
    command = [
        # `paydesk kiosk launch`, run from this checkout.
        sys.executable,
        "-m",
        "paydesk.cli",
        "kiosk",
        "launch",
        "--url",
        app.url,
        "--policy-dir",
        str(tmp_path / "managed"),
        "--profile-dir",
        str(tmp_path / "profile"),
        *(f"--browser-flag={flag}" for flag in TEST_FLAGS),
    ]
    log = tmp_path / "launcher.log"
    with log.open("wb") as output:
        launcher = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[2]
        )
    try:
        assert wait_until(lambda: app.browser_loads() >= 1 or launcher.poll() is not None)
        assert app.browser_loads() >= 1, log.read_text(errors="replace")
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=WAIT) == 0
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    text = log.read_text(errors="replace")
    assert "stopping the browser" in text
    assert "launcher stopped" in text
    started = re.search(r"browser started \(pid (\d+)\)", text)
    assert started is not None
    with pytest.raises(ProcessLookupError):
        os.kill(int(started.group(1)), 0)


DEPLOY = Path(__file__).parents[2] / "kiosk" / "deploy"


def _exec_lines(unit: Path, key: str) -> list[list[str]]:
    """The command lines of `key=` in a systemd unit, continuation lines joined."""
    text = unit.read_text(encoding="utf-8").replace("\\\n", " ")
    return [
        line.split("=", 1)[1].lstrip("+").split()
        for line in text.splitlines()
        if line.startswith(f"{key}=")
    ]


def test_the_browser_unit_runs_the_launcher_with_options_it_accepts() -> None:
    unit = DEPLOY / "paydesk-kiosk-browser.service"
    (pre,) = _exec_lines(unit, "ExecStartPre")
    (start,) = _exec_lines(unit, "ExecStart")
    for command in (pre, start[start.index("--") + 1 :]):
        assert command[0].endswith("/paydesk")
        assert command[1:3] == ["kiosk", "launch"]
        parsed = launcher_parser().parse_args(command[3:])
        assert parsed.url == "http://127.0.0.1:8100/"
    assert start[0] == "/usr/bin/cage"
    assert "-s" not in start[: start.index("--")]  # no switching away from the kiosk's VT
    assert "--policy-only" in pre


def test_the_runtime_unit_runs_the_runtime_on_the_launchers_url() -> None:
    (start,) = _exec_lines(DEPLOY / "paydesk-kiosk.service", "ExecStart")
    assert start[1:2] == ["kiosk"]
    assert start[start.index("--port") + 1] == "8100"
    for option in ("--server", "--terminal", "--reader", "--printer", "--state-dir"):
        assert option in start


def test_a_policy_that_cannot_be_written_stops_the_launcher_with_the_fix(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    in_the_way = tmp_path / "managed"
    in_the_way.write_text("not a directory", encoding="utf-8")
    code = cli.main(["kiosk", "launch", "--policy-dir", str(in_the_way), "--browser", CHROMIUM])
    assert code == 2
    assert "cannot write the browser policy" in caplog.text
    assert "--policy-only" in caplog.text


def test_a_missing_browser_is_a_clear_error_once_the_app_answers(
    app: KioskApp, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app.start()
    code = cli.main(["kiosk", "launch", "--url", app.url, "--browser", str(tmp_path / "nope"),
                     "--policy-dir", str(tmp_path / "managed"),
                     "--profile-dir", str(tmp_path / "profile")])  # fmt: skip
    assert code == 2
    assert f"cannot start the browser {tmp_path / 'nope'}" in caplog.text


def test_a_browser_that_keeps_exiting_is_restarted_with_a_growing_back_off(
    app: KioskApp, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app.start()
    caplog.set_level("INFO", logger="kiosk.launcher")
    settings = LaunchSettings(
        url=app.url,
        browser="/bin/true",  # exits at once, like a browser crashing on start
        policy_dir=None,
        profile_dir=tmp_path / "profile",
        backoff_initial=0.05,
        backoff_max=0.2,
    )
    watchdog = Watchdog(settings)
    thread = threading.Thread(target=watchdog.run, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: watchdog.starts >= 5)
    finally:
        watchdog.stop.set()
        thread.join(timeout=WAIT)
    delays = re.findall(r"restarting in ([0-9.]+) s", caplog.text)
    assert delays[:4] == ["0.05", "0.1", "0.2", "0.2"]  # doubling, then capped
    assert not thread.is_alive()


def _can_mount_privately() -> bool:
    if os.geteuid() != 0 or not os.access("/usr/bin/unshare", os.X_OK):
        return False
    done = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False)
    return done.returncode == 0


def _browser_seeing_policies_in(tmp_path: Path) -> tuple[str, Path]:
    """A browser command that runs Chromium with `<dir>/policies/managed` as its
    /etc/chromium (bind-mounted in a private mount namespace, so nothing else on the
    machine sees it); returns the command and the policy directory for the launcher."""
    etc = tmp_path / "etc-chromium"
    shutil.copytree("/etc/chromium", etc, symlinks=True)
    script = tmp_path / "chromium-with-policies"
    script.write_text(
        "#!/bin/sh\n"
        "exec unshare --mount sh -c "
        f'\'mount --bind {etc} /etc/chromium && exec {CHROMIUM} "$@"\' chromium "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return str(script), etc / "policies" / "managed"


@needs_chromium
@pytest.mark.slow
@pytest.mark.skipif(not _can_mount_privately(), reason="needs root and unshare --mount")
@pytest.mark.parametrize("policy", [True, False], ids=["with-policy", "without-policy"])
def test_chromium_under_the_policy_opens_the_kiosk_and_nothing_else(
    tmp_path: Path, policy: bool
) -> None:
    other = KioskApp(free_port(), "<h1>Another site</h1>")
    # The kiosk page tries to show another site in a frame, then tells the app it tried.
    app = KioskApp(
        free_port(),
        f'<iframe id="f" src="{other.url}"></iframe><script>'
        "document.getElementById('f').addEventListener('load', "
        "() => { new Image().src = '/tried'; });</script>",
    )
    browser, policy_dir = _browser_seeing_policies_in(tmp_path)
    devtools_port = free_port()
    settings = LaunchSettings(
        url=app.url,
        browser=browser,
        # Without the policy (the control): written where Chromium does not look.
        policy_dir=policy_dir if policy else tmp_path / "elsewhere",
        profile_dir=tmp_path / "profile",
        # As if someone added the flag to reach the browser's developer tools.
        browser_flags=(*TEST_FLAGS, f"--remote-debugging-port={devtools_port}"),
    )
    watchdog = Watchdog(settings)
    thread = threading.Thread(target=watchdog.run, daemon=True)
    other.start()
    app.start()
    thread.start()
    try:
        assert wait_until(lambda: "/tried" in app.paths()), app.requests
        devtools_open = _listening(devtools_port)
    finally:
        watchdog.stop.set()
        thread.join(timeout=WAIT)
        app.stop()
        other.stop()
    assert app.browser_loads() == 1
    if policy:
        assert other.requests == []  # blocked by URLBlocklist: never even asked
        assert not devtools_open
    else:
        assert other.paths()[:1] == ["/"]  # an unlocked browser would have shown it
        assert devtools_open


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
