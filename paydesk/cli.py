"""The `paydesk` command: demo, serve, worker, migrate, seed, settle, journal post, audit
verify and checkpoint, kiosk (the lobby kiosk's runtime), staff create; `paydesk kiosk
launch` is the kiosk's browser launcher."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from tqdm import tqdm

from shared.config import SANDBOX_SOURCE_MOUNT, Settings
from shared.messaging import mail_folder


def _settings() -> Settings:
    return Settings()


def cmd_migrate(args: argparse.Namespace) -> int:
    from shared.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    print(f"Database is up to date ({_safe_url(settings.database_url)}).")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def proxy_options(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """uvicorn's options for X-Forwarded-For and -Proto: believed only from the addresses
    in FORWARDED_ALLOW_IPS, and from nobody when it is unset. uvicorn's own default
    believes any client on loopback, so one on the same host (or a proxy that passes the
    header through) could name its own address and dodge every per-address limit."""
    trusted = environ.get("FORWARDED_ALLOW_IPS", "").strip()
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


def _serve(host: str, port: int, *, demo: bool) -> int:
    import uvicorn

    from paydesk.app import asgi, create_app
    from paydesk.demo_data import DEMO_PASSWORDS, is_seeded, sample_bills, seed_demo
    from paydesk.runtime import build_runtime
    from shared.db import transaction
    from shared.migrate import upgrade
    from shared.web.logging import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    upgrade(settings.database_url)
    runtime = build_runtime(settings)
    if demo:
        with transaction(runtime.factory) as session:
            seeded = is_seeded(session)
        if not seeded:
            print("Loading demo data (first run)…", flush=True)
            with transaction(runtime.factory) as session:
                summary = seed_demo(session, settings, runtime.gateway, runtime.sandbox)
            print(
                f"  {summary.customers} customers, {summary.accounts} accounts, "
                f"{summary.invoices} bills, {summary.payments} payments."
            )
    sqlite = runtime.engine.dialect.name == "sqlite"
    base = own_base_url(host, port)
    kiosk = None
    if demo:
        from paydesk.demo_kiosk import demo_kiosk

        kiosk = demo_kiosk(runtime, base)
    app = asgi(create_app(runtime, run_worker=sqlite, kiosk=kiosk))
    print(f"\nPaydesk is running on {_safe_url(settings.database_url)}")
    print(f"  Citizen portal   {base}/")
    print(f"  Staff console    {base}/staff/")
    if demo:
        print(f"  Kiosk (simulated) {base}/kiosk/   (reader and printer simulated)")
    print(f"  Sandbox gateway  {base}/sandbox-gateway/")
    for system in settings.sandbox_source_systems:
        print(f"  Sandbox source   {base}{SANDBOX_SOURCE_MOUNT}/{system}/payments")
    print(f"  Health           {base}/healthz")
    if mail_folder.folder_of(settings) is not None:
        # Nothing is sent: say where "Email my receipt" went.
        print(
            f"  Demo mail        {base}/staff/demo-mail   (mail is kept, not sent; staff sign-in)"
        )
    if demo:
        with transaction(runtime.factory) as session:
            bills = sample_bills(session)
        print("\nDemo bills to look up in the portal (account number / access code):")
        for department, account, code, holder in bills:
            print(f"  {account:<12} {code}   {department}, {holder}")
        print("\nDemo staff sign-ins (username / password):")
        for role, password in DEMO_PASSWORDS.items():
            print(f"  {role:<11} {password}")
    print("\nPress Ctrl+C to stop.\n", flush=True)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=True, **proxy_options())
    runtime.close()
    return 0


def own_base_url(host: str, port: int) -> str:
    """The URL this server answers on, for links and write-backs when none is configured.

    A wildcard address is not one a browser can open, so it stands for loopback.
    """
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding it
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def cmd_demo(args: argparse.Namespace) -> int:
    # The demo is always the embedded default: SQLite under ./var, sandbox gateway.
    os.environ.pop("PAYDESK_DATABASE_URL", None)
    # Links, QR codes, the card page's return and write-backs go where this demo listens
    # (`--port 8080` included), unless PAYDESK_BASE_URL says otherwise (a proxy in front).
    os.environ.setdefault("PAYDESK_BASE_URL", own_base_url(args.host, args.port))
    # Receipt emails land as .eml files under var/mail unless an SMTP server is configured.
    os.environ.setdefault("PAYDESK_MAIL_BACKEND", "file")
    # The demo's utility bills belong to a sandbox source system, so write-back shows.
    from paydesk.demo_data import UTILITY_BILLING

    os.environ.setdefault("PAYDESK_SANDBOX_SOURCE_SYSTEMS", UTILITY_BILLING)
    # Absolute URLs (redirects, receipt QR codes) come from the base URL only: on another
    # port, the demo's must follow it.
    os.environ.setdefault("PAYDESK_BASE_URL", f"http://{args.host}:{args.port}")
    return _serve(args.host, args.port, demo=True)


def cmd_serve(args: argparse.Namespace) -> int:
    os.environ.setdefault("PAYDESK_BASE_URL", own_base_url(args.host, args.port))
    if args.workers > 1:
        import uvicorn

        from shared.web.logging import configure_logging

        configure_logging(_settings().log_level)
        uvicorn.run(
            "paydesk.app:app_from_environment",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=None,
            **proxy_options(),
        )
        return 0
    return _serve(args.host, args.port, demo=False)


def cmd_worker(args: argparse.Namespace) -> int:
    from paydesk.runtime import build_runtime
    from paydesk.worker import Worker
    from shared.web.logging import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    worker = Worker(build_runtime(settings))
    if args.once:
        print(worker.tick())
        return 0
    try:
        worker.run()
    except KeyboardInterrupt:
        worker.stopping.set()
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from paydesk.demo_data import is_seeded, seed_demo
    from paydesk.runtime import build_runtime
    from paydesk.seed import seed
    from shared.db import transaction
    from shared.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    runtime = build_runtime(settings)
    with transaction(runtime.factory) as session:
        if not is_seeded(session):
            seed_demo(session, settings, runtime.gateway, runtime.sandbox)
    with (
        tqdm(total=args.payments, unit="payment", disable=args.quiet) as bar,
        transaction(runtime.factory) as session,
    ):
        seed(
            session,
            customers=args.customers,
            payments=args.payments,
            currency=settings.currency,
            progress=bar.update,
        )
    print(f"Seeded {args.customers} customers and {args.payments} payments.")
    return 0


def cmd_settle(args: argparse.Namespace) -> int:
    from paydesk.runtime import build_runtime
    from shared.actors import SYSTEM
    from shared.db import transaction, utcnow
    from shared.finance import deposits
    from shared.payments import settlement

    runtime = build_runtime(_settings())
    with transaction(runtime.factory) as session:
        batch = settlement.settle(
            session,
            runtime.gateway,
            SYSTEM,
            until=utcnow(),
            report_dir=runtime.settings.var_dir / "settlements",
            card_terms=deposits.CardTerms.of(runtime.settings),
        )
    print(f"Batch {batch.batch_id}: {len(batch.lines)} lines, net {batch.net} minor units.")
    return 0


def cmd_journal_post(args: argparse.Namespace) -> int:
    from paydesk.runtime import build_runtime
    from shared.actors import SYSTEM
    from shared.db import transaction
    from shared.finance import journal

    runtime = build_runtime(_settings())
    with transaction(runtime.factory) as session:
        entries = journal.post_pending(session, journal.Accounts.of(runtime.settings), SYSTEM)
    print(f"{len(entries)} journal entries written.")
    return 0


def cmd_statement_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from paydesk.runtime import build_runtime
    from shared.actors import SYSTEM
    from shared.db import transaction, utcnow
    from shared.local_time import in_zone
    from shared.reconciliation import book
    from shared.reconciliation.statements import StatementFileError

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as error:
        print(f"Cannot read {path}: {error.strerror}.", file=sys.stderr)
        return 2
    runtime = build_runtime(_settings())
    settings = runtime.settings
    try:
        with transaction(runtime.factory) as session:
            imported = book.import_file(session, data, path.name, None, SYSTEM)
            today = in_zone(utcnow(), settings.timezone).date()
            outcome = book.reconcile(session, settings.reconcile_window_days, today, SYSTEM)
    except StatementFileError as error:
        print(f"{path.name} was not imported: {error.where}: {error.reason}", file=sys.stderr)
        return 1
    if not imported.new:
        print("This statement was imported before: nothing changed.")
    else:
        print(
            f"Imported {len(imported.statements)} statement(s): {outcome.matched} matches, "
            f"{outcome.breaks_opened} new breaks."
        )
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shared import audit
    from shared.db import make_engine, make_sessionmaker, transaction

    settings = _settings()
    keys = settings.keys()
    try:
        kept = [
            (path, audit.Checkpoint.from_json(Path(path).read_text(), keys.audit))
            for path in args.checkpoint
        ]
    except (OSError, UnicodeDecodeError, audit.CheckpointError) as error:
        print(f"Cannot use the checkpoint: {error}.", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    with transaction(make_sessionmaker(engine, keys)) as session:
        result = audit.verify(session)
        problems = [(path, audit.extends(session, checkpoint)) for path, checkpoint in kept]
    engine.dispose()
    if not result.ok:
        print(f"BROKEN at sequence {result.broken_seq}: {result.problem}.", file=sys.stderr)
        return 1
    for (path, problem), (_, checkpoint) in zip(problems, kept, strict=True):
        if problem:
            print(f"BROKEN against checkpoint {path}: {problem}.", file=sys.stderr)
            return 1
        print(f"Extends checkpoint {path} (sequence {checkpoint.seq}, {checkpoint.taken_at}).")
    unkeyed = f", the first {result.unkeyed} from before keying" if result.unkeyed else ""
    print(f"OK: {result.checked} audit events verified{unkeyed}.")
    return 0


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shared import audit
    from shared.db import make_engine, make_sessionmaker, transaction

    settings = _settings()
    engine = make_engine(settings.database_url)
    with transaction(make_sessionmaker(engine, settings.keys())) as session:
        # A checkpoint vouches for the trail up to it: never take one of a broken trail.
        result = audit.verify(session)
        taken = audit.checkpoint(session) if result.ok else None
    engine.dispose()
    if taken is None:
        print(f"BROKEN at sequence {result.broken_seq}: {result.problem}.", file=sys.stderr)
        return 1
    if args.output in (None, "-"):
        print(taken.to_json())
    else:
        Path(args.output).write_text(taken.to_json() + "\n")
        print(f"Checkpoint at sequence {taken.seq} written to {args.output}.", file=sys.stderr)
    return 0


def cmd_kiosk(args: argparse.Namespace) -> int:
    """Run the kiosk runtime: the screens on 127.0.0.1 for the kiosk's browser."""
    from pathlib import Path

    import uvicorn

    from kiosk.app import create_kiosk_app
    from kiosk.settings import KioskSettings
    from shared.web.logging import configure_logging

    configure_logging(os.environ.get("PAYDESK_LOG_LEVEL", "INFO"))
    settings = KioskSettings.from_environment(
        server_url=args.server,
        terminal=args.terminal,
        state_dir=Path(args.state_dir or f"var/kiosk-{args.terminal}"),
        enrolment_code=args.enrolment_code or os.environ.get("PAYDESK_KIOSK_ENROLMENT_CODE"),
        reader=args.reader,
        printer=args.printer,
    )
    print(f"Kiosk {args.terminal} on http://127.0.0.1:{args.port}/ (server {args.server})")
    # Loopback only: the kiosk's browser runs on the same machine, nobody else may reach it.
    uvicorn.run(create_kiosk_app(settings), host="127.0.0.1", port=args.port, log_config=None)
    return 0


def cmd_staff_create(args: argparse.Namespace) -> int:
    from shared.actors import Actor, ActorType
    from shared.auth.staff_users import StaffError, create_staff
    from shared.db import make_engine, make_sessionmaker, transaction

    password = os.environ.get("PAYDESK_NEW_STAFF_PASSWORD") or getpass.getpass("Password: ")
    settings = _settings()
    engine = make_engine(settings.database_url)
    actor = Actor(ActorType.SYSTEM, f"cli:{getpass.getuser()}")
    try:
        with transaction(make_sessionmaker(engine, settings.keys())) as session:
            user = create_staff(
                session,
                actor,
                username=args.username,
                password=password,
                display_name=args.name or args.username,
                roles=args.role,
                email=args.email,
            )
    except StaffError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"Created staff user {user.username} with role(s) {', '.join(args.role)}.")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="paydesk", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def server_args(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("--host", default="127.0.0.1")
        cmd.add_argument("--port", type=int, default=8000)

    demo = sub.add_parser("demo", help="run everything on SQLite with demo data")
    server_args(demo)
    demo.set_defaults(func=cmd_demo)
    serve = sub.add_parser("serve", help="run the web server (production)")
    server_args(serve)
    serve.add_argument("--workers", type=int, default=1, help="server processes")
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="run the background worker")
    worker.add_argument("--once", action="store_true", help="one pass, then exit")
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="upgrade the database schema").set_defaults(func=cmd_migrate)
    seed = sub.add_parser("seed", help="bulk data for benchmarks")
    seed.add_argument("--customers", type=int, default=1000)
    seed.add_argument("--payments", type=int, default=10_000)
    seed.add_argument("--quiet", action="store_true")
    seed.set_defaults(func=cmd_seed)
    sub.add_parser("settle", help="close the day's card batch").set_defaults(func=cmd_settle)
    journal_cmd = sub.add_parser("journal", help="the general-ledger journal")
    journal_sub = journal_cmd.add_subparsers(dest="journal_command", required=True)
    journal_sub.add_parser(
        "post", help="write the journal entries of everything not journaled yet"
    ).set_defaults(func=cmd_journal_post)
    statement_cmd = sub.add_parser("statement", help="bank statements")
    statement_sub = statement_cmd.add_subparsers(dest="statement_command", required=True)
    statement_import = statement_sub.add_parser(
        "import", help="import a BAI2 or camt.053 bank statement and reconcile it"
    )
    statement_import.add_argument("file", help="the statement file")
    statement_import.set_defaults(func=cmd_statement_import)
    audit_cmd = sub.add_parser("audit", help="audit trail tools")
    audit_sub = audit_cmd.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="verify the hash chain")
    verify.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="FILE",
        help="also prove the trail still extends this checkpoint (repeatable)",
    )
    verify.set_defaults(func=cmd_audit_verify)
    checkpoint = audit_sub.add_parser(
        "checkpoint", help="write the head's sequence number and hash, signed, to keep elsewhere"
    )
    checkpoint.add_argument("--output", metavar="FILE", help="where to write it (default stdout)")
    checkpoint.set_defaults(func=cmd_audit_checkpoint)
    kiosk = sub.add_parser("kiosk", help="run a lobby kiosk's runtime (screens on 127.0.0.1)")
    kiosk.add_argument("--server", required=True, help="the Paydesk server's URL")
    kiosk.add_argument("--terminal", required=True, help="this kiosk's terminal id")
    kiosk.add_argument("--enrolment-code", help="one-time code from the staff console")
    kiosk.add_argument("--reader", default="simulated", help="PC/SC reader name, or simulated")
    kiosk.add_argument("--printer", default="simulated", help="printer device/URL, or simulated")
    kiosk.add_argument("--port", type=int, default=8100)
    kiosk.add_argument("--state-dir", help="credentials and journal (default var/kiosk-ID)")
    kiosk.set_defaults(func=cmd_kiosk)
    staff = sub.add_parser("staff", help="staff users")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    create = staff_sub.add_parser(
        "create", help="create a staff user (password from PAYDESK_NEW_STAFF_PASSWORD or prompt)"
    )
    create.add_argument("--username", required=True)
    create.add_argument("--name")
    create.add_argument("--email")
    create.add_argument("--role", action="append", required=True)
    create.set_defaults(func=cmd_staff_create)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.captureWarnings(True)
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:2] == ["kiosk", "launch"]:
        # The lockdown launcher has its own options (`paydesk kiosk launch --help`),
        # apart from the runtime's `paydesk kiosk --server ... --terminal ...`.
        from kiosk.launcher import main as launch

        return launch(arguments[2:])
    args = parser().parse_args(arguments)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
