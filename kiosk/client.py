"""The kiosk's side of the kiosk API (/work/coord/KIOSK-API.md, README "The kiosk API").

Credentials come from enrolment (a one-time code exchanged for OAuth2 client
credentials, kept in the kiosk's state folder with owner-only permissions); every call
carries a short-lived bearer token from the client-credentials grant, fetched again
before it expires or when the server answers 401 (a rotated key, a server restart).

Errors are two kinds the screens tell apart: `ServerUnreachable` (no answer at all:
refused, timed out, the connection dropped before a response) and `ApiError` (the server
answered with an error code and a sentence in the resident's language).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

API = "/api/v1"
TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# Refresh this long before the token's stated expiry, so a call never races it.
TOKEN_MARGIN_SECONDS = 60


class ServerUnreachable(Exception):
    """The server did not answer (network down, server down, connection lost mid-call)."""


class ApiError(Exception):
    """The server answered with an error status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{status} {code}: {message}")


class NotEnrolled(Exception):
    """No credentials in the state folder and no enrolment code to get them."""


@dataclass(frozen=True, slots=True)
class Credentials:
    client_id: str
    client_secret: str
    terminal: str

    @classmethod
    def load(cls, path: Path) -> Credentials | None:
        try:
            data = json.loads(path.read_text())
            return cls(data["client_id"], data["client_secret"], data["terminal"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Owner-only from the first byte: the secret never sits in a readable file.
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(
                {
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "terminal": self.terminal,
                },
                handle,
            )
        path.with_suffix(".tmp").replace(path)


def _error_of(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return ApiError(
        response.status_code, str(body.get("error", "error")), str(body.get("message", ""))
    )


class KioskApi:
    """One terminal's client of the server. Create it in the event loop that uses it."""

    def __init__(
        self,
        server_url: str,
        terminal: str,
        credentials_path: Path,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.terminal = terminal
        self.credentials_path = credentials_path
        self._http = httpx.AsyncClient(
            base_url=self.server_url, timeout=TIMEOUT, transport=transport
        )
        self._token: str | None = None
        self._token_expires = 0.0
        self.credentials = Credentials.load(credentials_path)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnreachable(type(exc).__name__) from exc

    # --- credentials --------------------------------------------------------------
    async def enrol(self, enrolment_code: str) -> Credentials:
        response = await self._send(
            "POST",
            f"{API}/kiosk/enrol",
            json={"terminal": self.terminal, "enrolment_code": enrolment_code},
        )
        if response.status_code != 200:
            raise _error_of(response)
        data = response.json()
        credentials = Credentials(data["client_id"], data["client_secret"], data["terminal"])
        credentials.save(self.credentials_path)
        self.credentials = credentials
        self._token = None
        return credentials

    async def _bearer(self) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        if self.credentials is None:
            raise NotEnrolled()
        response = await self._send(
            "POST",
            f"{API}/oauth/token",
            data={"grant_type": "client_credentials", "scope": "kiosk"},
            auth=(self.credentials.client_id, self.credentials.client_secret),
        )
        if response.status_code != 200:
            raise _error_of(response)
        data = response.json()
        self._token = str(data["access_token"])
        lifetime = int(data.get("expires_in", 300))
        self._token_expires = time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 5)
        return self._token

    async def _call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        for attempt in (1, 2):
            token = await self._bearer()
            response = await self._send(
                method,
                f"{API}/kiosk{path}",
                headers={"Authorization": f"Bearer {token}", **(headers or {})},
                **kwargs,
            )
            if response.status_code == 401 and attempt == 1:
                self._token = None  # expired or the server forgot it: one fresh try
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def _json(
        self, method: str, path: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any
    ) -> dict[str, Any]:
        response = await self._call(method, path, **kwargs)
        if response.status_code not in ok:
            raise _error_of(response)
        data = response.json()
        assert isinstance(data, dict)
        return data

    # --- the calls ----------------------------------------------------------------
    async def reachable(self) -> None:
        """Raise `ServerUnreachable` unless the server answers its health check (the
        kiosk asks every few seconds; the kiosk API's calls are audited, this is not)."""
        response = await self._send("GET", "/healthz")
        if response.status_code != 200:
            raise ServerUnreachable(f"health check answered {response.status_code}")

    async def config(self) -> dict[str, Any]:
        return await self._json("GET", "/config")

    async def lookup(
        self, reference: str, access_code: str, locale: str, basket_token: str | None = None
    ) -> dict[str, Any]:
        """Find bills; with the basket of an earlier look-up, the new basket names both."""
        return await self._json(
            "POST",
            "/lookup",
            json={
                "reference": reference,
                "access_code": access_code,
                "locale": locale,
                "basket_token": basket_token,
            },
        )

    async def pay(
        self,
        key: str,
        *,
        basket_token: str,
        items: list[dict[str, Any]],
        card_token: str,
        locale: str,
        email: str | None = None,
    ) -> dict[str, Any]:
        return await self._json(
            "POST",
            "/payments",
            ok=(200, 201),
            headers={"Idempotency-Key": key},
            json={
                "basket_token": basket_token,
                "items": items,
                "card_token": card_token,
                "locale": locale,
                "email": email,
            },
        )

    async def payment_by_key(self, key: str, locale: str = "en") -> dict[str, Any] | None:
        """The payment written under `key`, or None when the server never wrote one."""
        response = await self._call("GET", f"/payments/by-key/{key}", params={"locale": locale})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _error_of(response)
        data = response.json()
        assert isinstance(data, dict)
        return data

    async def receipt(self, number: str, locale: str) -> dict[str, Any]:
        return await self._json("GET", f"/receipts/{number}", params={"locale": locale})

    async def email_receipt(self, number: str, email: str, locale: str) -> dict[str, Any]:
        return await self._json(
            "POST",
            f"/receipts/{number}/email",
            ok=(200, 202),
            json={"email": email, "locale": locale},
        )

    async def heartbeat(self, health: dict[str, Any]) -> dict[str, Any]:
        return await self._json("POST", "/heartbeat", json=health)

    async def help(self, locale: str, about: dict[str, str] | None) -> dict[str, Any]:
        return await self._json(
            "POST",
            "/help",
            ok=(200, 201),
            json={"locale": locale, "about": about, "message": ""},
        )

    async def card_token(self, url: str, card: dict[str, Any]) -> dict[str, Any]:
        """Tokenize card data at the processor's card-present endpoint (not our server).

        `card` holds the clear PAN: it goes into this one request body and nowhere else.
        """
        try:
            response = await self._http.post(url, json=card)
        except httpx.TransportError as exc:
            raise ServerUnreachable(type(exc).__name__) from exc
        if response.status_code not in (200, 201):
            raise _error_of(response)
        data = response.json()
        assert isinstance(data, dict)
        return data
