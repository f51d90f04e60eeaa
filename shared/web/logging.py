"""JSON log lines on stderr, with card numbers masked before anything is written.

Card numbers must never reach a log (PCI DSS): they can arrive in a query string, a
form echoed into an error, a gateway's exception text. `shared.card_numbers` recognises
and masks them, URL-decoded first (an access line holds "q=4111+1111+…" or "%2F"); the
filter rewrites each record so every handler after it sees the masked text, and the
formatter scrubs again whatever the filter could not reach.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import IO, Any

from shared.card_numbers import scrub_decoded, scrub_value
from shared.web.request_id import request_id_var

# Attributes every LogRecord has; anything else on a record came from `extra=`
# (except uvicorn's `color_message`, the same text with terminal colours).
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "request_id",
    "color_message",
}
_HANDLER_MARK = "_paydesk_json_handler"


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _RECORD_FIELDS and not key.startswith("_")
    }


class ScrubFilter(logging.Filter):
    """Masks card numbers in the message, its arguments, `extra` fields and the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the handler's to report, not ours
            return True
        record.msg, record.args = scrub_decoded(message), None
        for key, value in _extras(record).items():
            setattr(record, key, _scrub_extra(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub_decoded(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub_decoded(record.stack_info)
        return True


def _scrub_extra(value: Any) -> Any:
    # A string extra may be a path or a query string: decoded like the message.
    return scrub_decoded(value) if isinstance(value, str) else scrub_value(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub_decoded(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        if extras := _extras(record):
            entry["extra"] = {key: _scrub_extra(value) for key, value in extras.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = scrub_decoded(record.exc_text)
        if record.stack_info:
            entry["stack"] = scrub_decoded(self.formatStack(record.stack_info))
        # Objects json cannot encode are logged by their text, scrubbed like the rest.
        return json.dumps(entry, ensure_ascii=False, default=lambda o: scrub_decoded(str(o)))


def configure_logging(level: str, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record, uvicorn's included, to `stream` (stderr) as JSON lines.

    Calling it again replaces the handler it installed before. Run uvicorn with
    `log_config=None` so it does not install its own handlers over these.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ScrubFilter())
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's loggers get their own handlers from uvicorn's default config; route them to
    # ours so access lines are JSON and scrubbed (a card number in a query string).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    return handler
