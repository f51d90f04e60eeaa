"""The sandbox source system: a utility billing system's write-back endpoint, played here.

What the sandbox gateway is to a card processor, this is to a source system: the demo's
utility bills are written back to it, so staff see write-back work end to end. It is
also the reference receiver for integrators: what a source system should check before
it applies Paydesk's news (see integrations/write_back.py for the sender).

Mounted at /sandbox-source when PAYDESK_SANDBOX_SOURCE_SYSTEMS lists systems:

- `POST /{system}/payments`  one write-back, signed with that system's secret:
  201 recorded, 200 already recorded (same Idempotency-Key, same body), 401 bad or
  stale signature, 400 not a write-back, 404 unknown system, 409 key reused for other news
- `POST /{system}/balances`  the pull contract (shared/balance_sources/http_json.py): an
  account's open bills from its books, signed requests only; its switches (flipped in
  the staff console's connected systems page) make it slow, failing (503) or
  contradicting (the first open bill of each account paid elsewhere)
- `POST /webhooks/{subscription id}`  a webhook receiver (the demo's subscription sends
  here): checks the signature against that subscription's secrets (its first 20
  generations: a sandbox knows no database) and records each event once
- `GET  /{system}/payments`  what it received, newest first (at most 100), for a browser
  signed in to the staff console with `payments:view` in every department (the list
  names receipts, transactions, accounts and amounts); 401 otherwise, 403 without it

Accepted news is kept as JSON lines in var/sandbox-source/<system>.jsonl, and marks the
bills paid in its books (shared/balance_sources/sandbox.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import time
from collections import deque
from pathlib import Path
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.auth.access import UserPermissions
from shared.auth.account import password_change_due
from shared.balance_sources.sandbox import SLOW_SECONDS, SandboxBooks
from shared.config import Settings, WriteBackTarget
from shared.messaging.signing import SIGNATURE_HEADER
from shared.messaging.webhooks import signing_secret
from shared.models import SessionKind
from shared.web.sessions import SessionData

# A signed request older or newer than this is refused: a captured request cannot be
# replayed later, and a sender's clock may be off by a little.
TOLERANCE_SECONDS = 5 * 60
# A write-back is a few hundred bytes; anything far bigger is not one.
MAX_BODY_BYTES = 64 * 1024
LISTED = 100
# Who may read the list: what it names is what a payment's page shows, for any department.
LIST_PERMISSION = "payments:view"

Outcome = Literal["recorded", "already recorded", "key used for other news"]
STATUS: dict[Outcome, int] = {
    "recorded": 201,
    "already recorded": 200,
    "key used for other news": 409,
}


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def signature_problem(header: str, body: bytes, secret: str, now: float) -> str | None:
    """Why `Paydesk-Signature: t=…,v1=…` does not vouch for `body`, or None when it does."""
    parts = {
        name: value for name, _, value in (p.strip().partition("=") for p in header.split(","))
    }
    t, v1 = parts.get("t", ""), parts.get("v1", "")
    if not (t.isascii() and t.isdigit() and v1):
        return f"{SIGNATURE_HEADER} is not t=<unix seconds>,v1=<hex>"
    # t is signed too, so a fresh t cannot be put on a captured body.
    if abs(now - int(t)) > TOLERANCE_SECONDS:
        return "the signature's time is more than 5 minutes away from ours"
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    # Constant time: how long a comparison takes must not tell how much of it matched.
    if not hmac.compare_digest(expected.encode(), v1.encode()):
        return "the signature does not match"
    return None


class Ledger:
    """One system's received news: a JSON-lines file, one line per accepted write-back.

    A real system keeps keys under a unique index; a sandbox can afford to read its file.
    The check and the append hold an exclusive lock on the file, so two requests with the
    same key (threads or processes) never both record it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, key: str, news: dict[str, Any]) -> Outcome:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+", encoding="utf-8") as file:
            fcntl.flock(file, fcntl.LOCK_EX)  # released when the file closes
            file.seek(0)
            for line in file:
                seen = json.loads(line)
                if seen["key"] == key:
                    return "already recorded" if seen["news"] == news else "key used for other news"
            received_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            # "a" mode: the line lands at the end, whatever the seek above did.
            file.write(json.dumps({"key": key, "received_at": received_at, "news": news}) + "\n")
        return "recorded"

    def latest(self, count: int = LISTED) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as file:
            fcntl.flock(file, fcntl.LOCK_SH)  # never a half-written last line
            lines = deque(file, maxlen=count)
        return [json.loads(line) for line in reversed(lines)]


def _staff_permissions(request: Request) -> UserPermissions | None:
    """The permissions of the staff member signed in on this browser, if one fully is (the
    password, the code, and no temporary password left to replace)."""
    session = request.scope.get("session")
    if not isinstance(session, SessionData) or session.kind != SessionKind.STAFF:
        return None
    if session.principal is None or session.principal[0].id != session.staff_user_id:
        return None
    user, permissions = session.principal
    if not user.active or password_change_due(user):
        return None
    return permissions


def list_refused(request: Request) -> Response | None:
    """Why this browser may not read a system's list, or None when it may."""
    permissions = _staff_permissions(request)
    if permissions is None:
        return _error(401, "sign in to the staff console to see what was received")
    if permissions.departments_for(LIST_PERMISSION) is not None:
        return _error(403, f"seeing what was received needs {LIST_PERMISSION} everywhere")
    return None


async def _body(request: Request) -> bytes | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return body


def sandbox_source_app(settings: Settings) -> Starlette:
    folder = settings.var_dir / "sandbox-source"

    def played(request: Request) -> WriteBackTarget | None:
        """The system the request is for, when this sandbox plays it."""
        system = request.path_params["system"]
        if system not in settings.sandbox_source_systems:
            return None
        return settings.write_back_target(system)

    def ledger(target: WriteBackTarget) -> Ledger:
        return Ledger(folder / f"{target.system}.jsonl")

    async def receive(request: Request) -> Response:
        if (target := played(request)) is None:
            return _error(404, "no such source system here")
        body = await _body(request)
        if body is None:
            return _error(413, "too big for a write-back")
        # The signature first: nothing in an unsigned body is worth reading.
        header = request.headers.get(SIGNATURE_HEADER, "")
        if problem := signature_problem(header, body, target.secret, time.time()):
            return _error(401, problem)
        key = request.headers.get("Idempotency-Key", "")
        try:
            news = json.loads(body)
        except (ValueError, RecursionError):
            news = None
        if not isinstance(news, dict) or not key or news.get("id") != key:
            return _error(400, 'the body must be a JSON object whose "id" is the Idempotency-Key')
        outcome = await run_in_threadpool(ledger(target).record, key, news)
        if outcome == "recorded" and isinstance(news.get("lines"), list):
            books = SandboxBooks(folder, target.system)
            await run_in_threadpool(books.mark_paid, str(news.get("account_number")), news["lines"])
        return JSONResponse({"id": key, "status": outcome}, status_code=STATUS[outcome])

    async def balances(request: Request) -> Response:
        if (target := played(request)) is None:
            return _error(404, "no such source system here")
        body = await _body(request)
        if body is None:
            return _error(413, "too big for a balance request")
        header = request.headers.get(SIGNATURE_HEADER, "")
        if problem := signature_problem(header, body, target.secret, time.time()):
            return _error(401, problem)
        try:
            asked = json.loads(body)
        except (ValueError, RecursionError):
            asked = None
        number = asked.get("account_number") if isinstance(asked, dict) else None
        if not isinstance(number, str) or not number:
            return _error(400, 'the body must be a JSON object with an "account_number"')
        books = SandboxBooks(folder, target.system)
        switches = await run_in_threadpool(books.switches)
        if switches.slow:
            await asyncio.sleep(SLOW_SECONDS)
        if switches.failing:
            return _error(503, "the billing system is down (the sandbox's failing switch)")
        bills = await run_in_threadpool(books.bills, number)
        if bills is None:
            return _error(404, "no such account here")
        if switches.contradicting and bills:
            bills = bills[1:]  # its first open bill was paid at the city's office
        as_of = dt.datetime.now(dt.UTC).isoformat()
        return JSONResponse({"account_number": number, "as_of": as_of, "bills": bills})

    async def received(request: Request) -> Response:
        if (refused := list_refused(request)) is not None:
            return refused
        if (target := played(request)) is None:
            return _error(404, "no such source system here")
        return JSONResponse(await run_in_threadpool(ledger(target).latest))

    async def webhook(request: Request) -> Response:
        subscription_id = request.path_params["subscription_id"]
        body = await _body(request)
        if body is None:
            return _error(413, "too big for a webhook")
        header = request.headers.get(SIGNATURE_HEADER, "")
        now = time.time()
        # One v1 per secret in use; any secret of the subscription's vouches for the body.
        t = next((p[2:] for p in header.split(",") if p.startswith("t=")), "")
        signed = [f"t={t},{part}" for part in header.split(",") if part.startswith("v1=")]
        secrets = [signing_secret(settings, subscription_id, g) for g in range(1, 21)]
        if not any(
            signature_problem(one, body, secret, now) is None
            for one in signed
            for secret in secrets
        ):
            return _error(401, "no signature of this subscription's matches")
        try:
            event = json.loads(body)
        except (ValueError, RecursionError):
            event = None
        key = request.headers.get("Idempotency-Key", "")
        if not isinstance(event, dict) or not key or event.get("id") != key:
            return _error(400, 'the body must be a JSON object whose "id" is the Idempotency-Key')
        book = Ledger(folder / f"webhooks-{subscription_id}.jsonl")
        outcome = await run_in_threadpool(book.record, key, event)
        return JSONResponse({"id": key, "status": outcome}, status_code=STATUS[outcome])

    return Starlette(
        routes=[
            Route("/webhooks/{subscription_id:int}", webhook, methods=["POST"], name="webhook"),
            Route("/{system}/payments", receive, methods=["POST"], name="receive"),
            Route("/{system}/payments", received, methods=["GET"], name="received"),
            Route("/{system}/balances", balances, methods=["POST"], name="balances"),
        ]
    )
