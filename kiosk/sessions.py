"""One resident's visit, held in the kiosk's memory only and wiped when it ends.

The browser holds a random id in a cookie (HttpOnly, SameSite=Strict); everything else
(language, the bills found, the basket, the payment under way, the receipt) stays in
this process. A visit ends by "Done", by the idle countdown, or by expiring server-side
when the screen stopped asking; then its entry is dropped, the cookie cleared and the
screen told to forget its storage (Clear-Site-Data), so the next person finds nothing.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

COOKIE = "paydesk_kiosk"


@dataclass(slots=True)
class Visit:
    id: str
    locale: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    last_seen: float = field(default_factory=time.monotonic)
    basket_token: str | None = None
    customer_display: str = ""
    bills: list[dict[str, Any]] = field(default_factory=list)
    currency: str = ""
    selected: list[str] = field(default_factory=list)
    # The payment under way (kiosk.payment.PaymentRun), once the card screen opened.
    run: Any = None
    help_reference: str | None = None
    emailed_to: str | None = None

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    @property
    def busy(self) -> bool:
        """A payment is between "card read" and "answer known": never wipe it then."""
        return self.run is not None and bool(getattr(self.run, "busy", False))


class SessionStore:
    def __init__(self, lifetime_seconds: float) -> None:
        self.lifetime = lifetime_seconds
        self._visits: dict[str, Visit] = {}

    def __len__(self) -> int:
        return len(self._visits)

    def start(self, locale: str) -> Visit:
        visit = Visit(secrets.token_urlsafe(32), locale)
        self._visits[visit.id] = visit
        return visit

    def get(self, visit_id: str | None, *, touch: bool = True) -> Visit | None:
        """The visit, if it has not expired; `touch=False` for a screen's own polling,
        which is not the resident doing anything."""
        if not visit_id:
            return None
        visit = self._visits.get(visit_id)
        if visit is None:
            return None
        if self._expired(visit):
            self.end(visit)
            return None
        if touch:
            visit.touch()
        return visit

    def _expired(self, visit: Visit) -> bool:
        return not visit.busy and time.monotonic() - visit.last_seen > self.lifetime

    def end(self, visit: Visit) -> None:
        """Forget the visit; a card wait still open is cancelled."""
        self._visits.pop(visit.id, None)
        if visit.run is not None:
            cancel = getattr(visit.run, "cancel", None)
            if callable(cancel):
                cancel()
        visit.bills.clear()
        visit.basket_token = None
        visit.run = None

    def reap(self) -> int:
        """End every visit idle past the lifetime; returns how many."""
        expired = [v for v in self._visits.values() if self._expired(v)]
        for visit in expired:
            self.end(visit)
        return len(expired)

    def wipe_all(self) -> None:
        for visit in list(self._visits.values()):
            self.end(visit)
