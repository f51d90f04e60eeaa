"""The push API: a source system whose balances are set to `push` upserts its accounts and
bills by its own ids (`PUT /api/v1/accounts/{system}/{number}`,
`PUT /api/v1/bills/{system}/{number}`, and NDJSON in bulk), ordered by its own `version`.

An update whose version is not newer than the one stored is not applied and answers 200
with `applied: false` and the stored version (so a retry, a duplicate and a late arrival
all succeed quietly, and the system learns what Paydesk holds). A bill is applied the way a
pulled answer is (shared.balance_sources.refreshing.apply_bill). Errors are RFC 9457
problem details.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from integrations.api import schemas
from integrations.api.web import Db, Problem, bearer, parts_of
from shared import audit, integration_clients
from shared.actors import Actor
from shared.balance_sources.protocol import SourceBill
from shared.balance_sources.refreshing import apply_bill, rebalance, waiting_for_news
from shared.models import (
    Account,
    AccountStatus,
    BalanceSourceSetting,
    IntegrationClient,
    Invoice,
    SourceMode,
)
from shared.rate_limit import Limit, RateLimited, hit, key_of
from shared.terminals import credentials

router = APIRouter(prefix="/v1", tags=["push"])

# A system's name and its own numbers: letters, digits and . _ - (as accounts name them).
SystemName = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")]
Number = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]

PROBLEM = {"model": schemas.ProblemDetails, "content": {"application/problem+json": {}}}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {**PROBLEM, "description": text}
    for code, text in {
        401: "No live access token",
        403: "Scope or department not allowed",
        404: "Unknown account",
        409: "Not a push system, a bill of another account, or a payment in flight",
        422: "Invalid body",
        429: "The client's rate limit is spent",
    }.items()
}
# Lines of a bulk request applied and committed together: fewer commits, and a failure
# loses at most this many lines' work (each line still gets its own result).
BULK_BATCH = 200
MAX_LINE = 8192
_MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SystemCaller:
    client: IntegrationClient
    actor: Actor
    scopes: frozenset[str]


def system_caller(
    request: Request,
    db: Db,
    given: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> SystemCaller:
    """The integration client the bearer token speaks for, with `balances:write`; its
    rate limit counted (and committed, so a failing call still counts)."""
    parts = parts_of(request)
    read = credentials.read_token(given.credentials, parts.settings.secret_key) if given else None
    client = integration_clients.by_client_id(db, read[0]) if read else None
    if read is None or client is None:
        raise Problem(
            401,
            "invalid-token",
            "Sign in again",
            "The access token is missing, expired or revoked.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    scopes = read[1] & frozenset(client.scopes)
    if integration_clients.BALANCES_WRITE not in scopes:
        raise Problem(
            403,
            "insufficient-scope",
            "Scope balances:write needed",
            "This access token does not allow pushing balances.",
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
        )
    limit = Limit(parts.settings.api_client_calls_per_minute, _MINUTE)
    try:
        hit(db, key_of(db, "api:client", client.client_id or ""), limit)
    except RateLimited as spent:
        seconds = max(1, int(spent.retry_after.total_seconds()))
        raise Problem(
            429,
            "rate-limited",
            "Too many calls",
            f"This client's limit is spent; try again in {seconds} seconds.",
            headers={"Retry-After": str(seconds)},
        ) from None
    db.commit()
    address = request.client.host if request.client else None
    return SystemCaller(client, integration_clients.actor(client, address), scopes)


System = Annotated[SystemCaller, Depends(system_caller)]


def _push_system(db: Session, system: str) -> None:
    setting = db.get(BalanceSourceSetting, system)
    if setting is None or setting.mode is not SourceMode.PUSH:
        raise Problem(
            409,
            "not-a-push-system",
            "This system does not push",
            f"The balances of {system} are not set to come by push "
            "(an administrator sets that at /staff/admin/integrations).",
        )


def _account(db: Session, caller: SystemCaller, system: str, number: str) -> Account:
    """The system's account, locked: pushes to one account apply one after the other, so
    an older version arriving last is seen to be older."""
    found = db.scalar(
        select(Account.id).where(Account.account_number == number, Account.source_system == system)
    )
    if found is None:
        raise Problem(
            404, "unknown-account", "Unknown account", f"{system} has no account {number} here."
        )
    db.execute(select(Account.id).where(Account.id == found).with_for_update())
    account = db.get(Account, found)
    assert account is not None
    db.refresh(account)
    department = caller.client.department_id
    if department is not None and account.department_id != department:
        raise Problem(
            403,
            "outside-department",
            "Outside this client's department",
            f"Account {number} belongs to another department than this client's.",
        )
    return account


def push_bill(
    db: Session, caller: SystemCaller, system: str, number: str, body: schemas.PushedBill
) -> schemas.PushResult:
    """Apply one pushed bill in `db` (the caller commits); Problem when it cannot be."""
    _push_system(db, system)
    account = _account(db, caller, system, body.account)
    invoice = db.scalar(select(Invoice).where(Invoice.invoice_number == number))
    if invoice is not None and invoice.account_id != account.id:
        raise Problem(
            409,
            "bill-of-another-account",
            "The bill belongs to another account",
            f"Bill {number} is held on another account than {body.account}.",
        )
    if invoice is not None and (invoice.source_version or -1) >= body.version:
        return _result(system, number, invoice, applied=False)
    if waiting_for_news(db, account, [invoice.id] if invoice is not None else []):
        raise Problem(
            409,
            "payment-in-flight",
            "A payment is on its way to you",
            "Paydesk has a payment on this account you may not have heard of yet; "
            "push again after its write-back arrives.",
            headers={"Retry-After": "60"},
        )
    bill = SourceBill(
        number,
        body.owing,
        body.amount_due or body.owing,
        body.fee_type,
        body.description,
        body.due_date,
    )
    invoice, change = apply_bill(db, account, invoice, bill)
    if invoice is None:
        raise Problem(
            422,
            "unknown-fee-type",
            "A new bill needs a known fee type",
            f"Bill {number} is new here: send fee_type, one of the fee types of the "
            "account's department.",
        )
    invoice.source_version = body.version
    balance_before = rebalance(db, account)
    audit.record(
        db,
        caller.actor,
        audit.AuditAction.BALANCES_PUSHED,
        "account",
        account.account_number,
        {
            "system": system,
            "bill": number,
            "version": body.version,
            "owing": {"before": change.before, "after": change.after} if change else None,
            "balance": {"before": balance_before, "after": account.balance},
        },
    )
    return _result(system, number, invoice, applied=True)


def _result(system: str, number: str, invoice: Invoice, *, applied: bool) -> schemas.PushResult:
    return schemas.PushResult(
        system=system,
        number=number,
        applied=applied,
        version=invoice.source_version or 0,
        owing=invoice.owing if invoice.status.value == "open" else 0,
        status=invoice.status.value,
    )


@router.put(
    "/bills/{system}/{number}",
    response_model=schemas.PushResult,
    responses=PROBLEMS,
    summary="Upsert one bill by the system's own number (scope balances:write)",
)
def put_bill(
    system: SystemName,
    number: Number,
    body: schemas.PushedBill,
    caller: System,
    db: Db,
) -> schemas.PushResult:
    result = push_bill(db, caller, system, number, body)
    db.commit()
    return result


@router.put(
    "/accounts/{system}/{number}",
    response_model=schemas.PushResult,
    responses=PROBLEMS,
    summary="Update one account's status by the system's own number (scope balances:write)",
)
def put_account(
    system: SystemName,
    number: Number,
    body: schemas.PushedAccount,
    caller: System,
    db: Db,
) -> schemas.PushResult:
    """Accounts are opened in Paydesk (they belong to a customer record); a push system
    keeps their status. An older version than the stored one is not applied."""
    _push_system(db, system)
    account = _account(db, caller, system, number)
    applied = (account.source_version or -1) < body.version
    if applied:
        before = account.status
        account.status = AccountStatus(body.status)
        account.source_version = body.version
        audit.record(
            db,
            caller.actor,
            audit.AuditAction.BALANCES_PUSHED,
            "account",
            number,
            {
                "system": system,
                "version": body.version,
                "status": {"before": str(before), "after": body.status},
            },
        )
        db.commit()
    return schemas.PushResult(
        system=system,
        number=number,
        applied=applied,
        version=account.source_version or 0,
        owing=max(account.balance, 0),
        status=str(account.status),
    )


async def _lines(request: Request) -> AsyncIterator[bytes]:
    """The body's lines as they arrive (never the whole body in memory)."""
    pending = b""
    async for chunk in request.stream():
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line
        if len(pending) > MAX_LINE:
            yield pending  # refused as too long by the line's check
            pending = b""
    if pending.strip():
        yield pending


def _line_result(line_no: int, number: str | None, problem: Problem) -> dict[str, Any]:
    return {
        "line": line_no,
        "number": number,
        "status": problem.status_code,
        "problem": problem.body(),
    }


def _apply_batch(
    factory: Any, caller_id: int, system: str, batch: list[tuple[int, bytes]]
) -> list[dict[str, Any]]:
    """Apply a batch of lines in one transaction, each in a savepoint of its own."""
    results: list[dict[str, Any]] = []
    with factory() as db:
        client = db.get(IntegrationClient, caller_id)
        assert client is not None
        caller = SystemCaller(client, integration_clients.actor(client), frozenset())
        for line_no, raw in batch:
            number = None
            try:
                if len(raw) > MAX_LINE:
                    raise ValueError("the line is too long")
                data = json.loads(raw)
                if not isinstance(data, dict):
                    raise ValueError("a line is one JSON object")
                number = data.get("number") if isinstance(data.get("number"), str) else None
                line = schemas.BulkBill.model_validate(data)
            except (ValueError, ValidationError) as bad:
                problem = Problem(422, "invalid", "Invalid line", _reason(bad))
                results.append(_line_result(line_no, number, problem))
                continue
            savepoint = db.begin_nested()
            try:
                result = push_bill(db, caller, system, line.number, line)
            except Problem as refused:
                savepoint.rollback()
                results.append(_line_result(line_no, line.number, refused))
                continue
            savepoint.commit()
            results.append(
                {
                    "line": line_no,
                    "number": line.number,
                    "status": 200,
                    "bill": result.model_dump(mode="json"),
                }
            )
        db.commit()
    return results


def _reason(bad: Exception) -> str:
    if isinstance(bad, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {e['msg']}" for e in bad.errors()
        )
    return str(bad) if not isinstance(bad, json.JSONDecodeError) else "the line is not JSON"


@router.post(
    "/bills/{system}:bulk",
    responses={
        200: {
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
            "description": "One result per line, in order (NDJSON)",
        },
        **PROBLEMS,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    },
    summary="Upsert many bills: NDJSON in (one bill per line), one result per line out",
)
async def bulk_bills(system: SystemName, request: Request, caller: System) -> Response:
    """Each line is a bill as `PUT /bills/{system}/{number}` takes it plus its `number`.
    Lines are read as they arrive and applied in batches; a bad line gets its problem in
    its result and never stops the others."""
    factory = parts_of(request).factory
    with factory() as db:
        await run_in_threadpool(_push_system, db, system)
    results: list[dict[str, Any]] = []
    batch: list[tuple[int, bytes]] = []
    line_no = 0
    async for raw in _lines(request):
        line_no += 1
        if not raw.strip():
            continue
        batch.append((line_no, raw))
        if len(batch) >= BULK_BATCH:
            results += await run_in_threadpool(
                _apply_batch, factory, caller.client.id, system, batch
            )
            batch = []
    if batch:
        results += await run_in_threadpool(_apply_batch, factory, caller.client.id, system, batch)
    body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in results)
    return Response(body, media_type="application/x-ndjson")
