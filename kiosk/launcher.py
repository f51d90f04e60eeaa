"""The lockdown launcher: `paydesk kiosk launch` runs the kiosk's browser and keeps it up.

It writes Chromium's managed policies (only the local kiosk origin may load, no
developer tools, printing, downloads, password manager or autofill), waits until the
kiosk runtime answers on 127.0.0.1, then starts Chromium in kiosk mode with the
lockdown flags. When the browser exits (crash, killed, closed by a gesture someone
found) it starts it again, after a back-off that grows while the browser keeps dying
young. SIGTERM (systemd stopping the unit) stops the browser and exits cleanly.

Debian's Chromium reads managed policies from /etc/chromium/policies/managed/, which
only root may write: the set-up writes them once with `--policy-only` as root; the
launcher, running as the kiosk user, checks they are in place and current.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import httpx

logger = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8100/"
DEFAULT_BROWSER = "/usr/bin/chromium"
DEFAULT_POLICY_DIR = Path("/etc/chromium/policies/managed")
POLICY_FILE = "paydesk-kiosk.json"
PROBE_USER_AGENT = "paydesk-kiosk-launcher"


class LaunchError(Exception):
    """The launcher cannot do its job as configured; the message says what to fix."""


def kiosk_origin(url: str) -> str:
    """`scheme://host:port` of the kiosk URL, the one origin the browser may load."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LaunchError(f"the kiosk URL must be http(s)://host[:port]/..., not {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname}:{port}"


def managed_policy(url: str) -> dict[str, object]:
    """Chromium enterprise policies for a public kiosk showing `url` and nothing else."""
    return {
        # Only the kiosk's own origin; everything else (other sites, chrome://,
        # file://, view-source:) is blocked.
        "URLBlocklist": ["*"],
        "URLAllowlist": [kiosk_origin(url)],
        "DeveloperToolsAvailability": 2,  # not available
        "RemoteDebuggingAllowed": False,  # not even with --remote-debugging-port
        "PrintingEnabled": False,  # receipts go to the receipt printer, never a dialog
        "DownloadRestrictions": 3,  # block all downloads
        "PasswordManagerEnabled": False,
        "AutofillAddressEnabled": False,
        "AutofillCreditCardEnabled": False,  # no card data kept for the next person
        "PaymentMethodQueryEnabled": False,
        "ImportAutofillFormData": False,
        "SavingBrowserHistoryDisabled": True,
        "TranslateEnabled": False,
        "SpellcheckEnabled": False,
        "SearchSuggestEnabled": False,
        "BrowserSignin": 0,
        "SyncDisabled": True,
        "BrowserGuestModeEnabled": False,
        "BrowserAddPersonEnabled": False,
        "BookmarkBarEnabled": False,
        "EditBookmarksEnabled": False,
        "ExtensionInstallBlocklist": ["*"],
        "DefaultPopupsSetting": 2,
        "DefaultNotificationsSetting": 2,
        "DefaultGeolocationSetting": 2,
        "AudioCaptureAllowed": False,
        "VideoCaptureAllowed": False,
        "ScreenCaptureAllowed": False,
        "TaskManagerEndProcessEnabled": False,
        "AllowDinosaurEasterEgg": False,
        "PromotionalTabsEnabled": False,
        "DefaultBrowserSettingEnabled": False,
        "MetricsReportingEnabled": False,
        "CommandLineFlagSecurityWarningsEnabled": False,  # no infobar over the screen
        "FullscreenAllowed": True,
    }


def chromium_flags(url: str, profile_dir: Path, extra: Sequence[str] = ()) -> list[str]:
    """The command-line flags of the kiosk browser, ending with the URL it opens."""
    return [
        "--kiosk",  # full screen, no address bar, tabs or menus
        "--incognito",  # nothing of one person's visit survives a browser restart
        f"--user-data-dir={profile_dir}",
        "--no-first-run",
        "--no-default-browser-check",
        "--noerrdialogs",
        "--disable-session-crashed-bubble",
        "--hide-crash-restore-bubble",
        "--disable-translate",
        "--disable-features=Translate,TranslateUI,TouchpadOverscrollHistoryNavigation",
        "--disable-pinch",
        "--overscroll-history-navigation=0",
        "--disable-extensions",
        "--disable-sync",
        "--disable-component-update",
        "--disable-print-preview",
        "--deny-permission-prompts",
        "--password-store=basic",  # no desktop keyring prompt on a machine with no desktop
        "--check-for-update-interval=31536000",
        *extra,
        url,
    ]


def write_policy(policy_dir: Path, url: str) -> Path:
    """Write the managed policy file (atomically, world-readable) and return its path.

    When the directory is not writable (the kiosk user, not root) an identical file
    already there is fine; anything else is a `LaunchError` naming the fix.
    """
    path = policy_dir / POLICY_FILE
    wanted = managed_policy(url)
    text = json.dumps(wanted, indent=2, sort_keys=True) + "\n"
    try:
        policy_dir.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(".tmp")
        staging.write_text(text, encoding="utf-8")
        staging.chmod(0o644)
        staging.replace(path)
    except OSError as exc:
        # Typically PermissionError: the kiosk user may not write /etc.
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            current = None
        if current == wanted:
            return path
        raise LaunchError(
            f"cannot write the browser policy {path} ({exc.strerror or exc}) and the one there is "
            f"missing or out of date: run `paydesk kiosk launch --url {url} --policy-only` "
            "as root once"
        ) from exc
    return path


def app_answers(url: str, timeout: float = 2.0) -> bool:
    """True when the kiosk runtime answers an HTTP GET on `url`, whatever the status:
    its out-of-service screen is still a screen the browser should show."""
    try:
        with httpx.Client(trust_env=False, timeout=timeout) as client:
            client.get(url, headers={"User-Agent": PROBE_USER_AGENT})
    except httpx.HTTPError:
        return False
    return True


@dataclass
class LaunchSettings:
    """What `paydesk kiosk launch` runs; the defaults suit a Debian kiosk machine."""

    url: str = DEFAULT_URL
    browser: str = DEFAULT_BROWSER
    policy_dir: Path | None = DEFAULT_POLICY_DIR
    profile_dir: Path = field(
        default_factory=lambda: Path.home() / ".cache" / "paydesk-kiosk" / "chromium"
    )
    browser_flags: tuple[str, ...] = ()
    probe_interval: float = 0.5
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    # A browser that ran this long was healthy: the next restart is quick again.
    healthy_after: float = 60.0
    stop_timeout: float = 10.0


class Watchdog:
    """Waits for the kiosk app, runs the browser and restarts it when it exits.

    `run()` blocks until `stop` is set (from a signal handler or another thread).
    `starts` counts browser starts and `browser_pid` is the running browser's pid.
    """

    def __init__(self, settings: LaunchSettings, stop: threading.Event | None = None) -> None:
        self.settings = settings
        self.stop = stop or threading.Event()
        self.starts = 0
        self.probes = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def browser_pid(self) -> int | None:
        with self._lock:
            process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def command(self) -> list[str]:
        s = self.settings
        return [s.browser, *chromium_flags(s.url, s.profile_dir, s.browser_flags)]

    def run(self) -> int:
        s = self.settings
        kiosk_origin(s.url)  # a bad URL fails here, before anything waits on it
        if s.policy_dir is not None:
            logger.info("browser policy in %s", write_policy(s.policy_dir, s.url))
        s.profile_dir.mkdir(parents=True, exist_ok=True)
        delay = s.backoff_initial
        try:
            while not self.stop.is_set():
                if not self._wait_for_app():
                    break
                started = time.monotonic()
                code = self._run_browser()
                if code is None:  # stopped while the browser ran
                    break
                ran = time.monotonic() - started
                if ran >= s.healthy_after:
                    delay = s.backoff_initial
                logger.warning(
                    "browser exited with status %s after %.0f s; restarting in %g s",
                    code,
                    ran,
                    delay,
                )
                if self.stop.wait(delay):
                    break
                delay = min(delay * 2, s.backoff_max)
        finally:
            self._stop_browser()
        logger.info("launcher stopped")
        return 0

    def _wait_for_app(self) -> bool:
        """Block until the app answers (True) or the launcher is stopped (False)."""
        url = self.settings.url
        while not self.stop.is_set():
            if app_answers(url):
                return True
            self.probes += 1
            if self.probes == 1 or self.probes % 60 == 0:
                logger.info("waiting for the kiosk app at %s", url)
            self.stop.wait(self.settings.probe_interval)
        return False

    def _run_browser(self) -> int | None:
        """Start the browser and wait for it to exit: its status, or None if stopped."""
        command = self.command()
        try:
            # Its own session, so stopping it reaches its renderer and GPU processes too.
            process = subprocess.Popen(command, start_new_session=True, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise LaunchError(f"cannot start the browser {command[0]}: {exc}") from exc
        with self._lock:
            self._process = process
        self.starts += 1
        logger.info("browser started (pid %d) on %s", process.pid, self.settings.url)
        while not self.stop.is_set():
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = process.wait(timeout=0.2)
                # A browser killed outright leaves its renderers behind: end them too.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                return code
        return None

    def _stop_browser(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        logger.info("stopping the browser (pid %d)", process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=self.settings.stop_timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=self.settings.stop_timeout)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paydesk kiosk launch",
        description="Run the kiosk's locked-down browser on the local kiosk app, restarting "
        "it when it exits.",
    )
    p.add_argument("--url", default=DEFAULT_URL, help=f"the kiosk app (default {DEFAULT_URL})")
    p.add_argument("--browser", default=DEFAULT_BROWSER, help="the Chromium executable")
    p.add_argument(
        "--policy-dir",
        type=Path,
        default=DEFAULT_POLICY_DIR,
        help=f"where Chromium reads managed policies (default {DEFAULT_POLICY_DIR})",
    )
    p.add_argument(
        "--policy-only", action="store_true", help="write the policy file and exit (as root)"
    )
    p.add_argument("--profile-dir", type=Path, help="the browser's profile directory")
    p.add_argument(
        "--browser-flag",
        action="append",
        default=[],
        metavar="FLAG",
        help="one more Chromium flag, e.g. --browser-flag=--ozone-platform=wayland",
    )
    p.add_argument("--backoff-max", type=float, default=30.0, help="longest restart delay (s)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("PAYDESK_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = LaunchSettings(
        url=args.url,
        browser=args.browser,
        policy_dir=args.policy_dir,
        browser_flags=tuple(args.browser_flag),
        backoff_max=args.backoff_max,
    )
    if args.profile_dir is not None:
        settings.profile_dir = args.profile_dir
    try:
        if args.policy_only:
            print(f"Wrote {write_policy(args.policy_dir, args.url)}")
            return 0
        watchdog = Watchdog(settings)

        def stop(signum: int, frame: FrameType | None) -> None:
            watchdog.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        return watchdog.run()
    except LaunchError as exc:
        logger.error("%s", exc)
        return 2
