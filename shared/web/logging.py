"""JSON log lines on stderr, with card numbers masked before anything is written.

Card numbers must never reach a log (PCI DSS): they can arrive in a query string, a
form echoed into an error, a gateway's exception text. `scrub` is the one place that
recognises them; the filter rewrites each record so every handler after it sees the
masked text, and the formatter scrubs again whatever the filter could not reach.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from typing import IO, Any

from shared.luhn import luhn_valid
from shared.web.request_id import request_id_var

# 13–19 digits, single spaces or dashes allowed between them. Unbounded on purpose: the
# whole run is found first, then searched for a card-length stretch (see `_mask_run`).
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,}")
_SEPARATOR = re.compile(r"[ -]")
MASK = "*" * 12

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


def _is_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _mask_run(run: str) -> str:
    digits = _SEPARATOR.sub("", run)
    if _is_card(digits):
        return MASK + digits[-4:]
    groups = _SEPARATOR.split(run)
    if len(groups) == 1:
        # One unbroken run of the wrong length or checksum: an order id, a reference, a hash.
        return run
    # A grouped card next to other numbers ("4111 1111 1111 1111 42"): look for the
    # longest stretch of whole groups that is a card, then scrub either side of it.
    separators = _SEPARATOR.findall(run)
    for size in range(len(groups), 0, -1):
        for start in range(len(groups) - size + 1):
            stretch = "".join(groups[start : start + size])
            if _is_card(stretch):
                before = "".join(g + s for g, s in zip(groups[:start], separators, strict=False))
                after = "".join(
                    s + g
                    for s, g in zip(
                        separators[start + size - 1 :], groups[start + size :], strict=True
                    )
                )
                # Either side may hold another card (two numbers in a row).
                return scrub(before) + MASK + stretch[-4:] + scrub(after)
    return run


def scrub(text: str) -> str:
    """Mask every Luhn-valid card number in `text` as ************1234."""
    return _DIGIT_RUN.sub(lambda m: _mask_run(m.group()), text)


def scrub_value(value: Any) -> Any:
    """`scrub` through the strings and integers of a JSON-like value."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        masked = scrub(str(value))
        return value if masked == str(value) else masked
    if isinstance(value, dict):
        return {str(k): scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_value(v) for v in value]
    return value


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
        record.msg, record.args = scrub(message), None
        for key, value in _extras(record).items():
            setattr(record, key, scrub_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        if extras := _extras(record):
            entry["extra"] = scrub_value(extras)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = scrub(record.exc_text)
        if record.stack_info:
            entry["stack"] = scrub(self.formatStack(record.stack_info))
        # Objects json cannot encode are logged by their text, scrubbed like the rest.
        return json.dumps(entry, ensure_ascii=False, default=lambda o: scrub(str(o)))


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
