"""The OAuth2 token endpoint for kiosks: client credentials (RFC 6749 section 4.4) through
Authlib's authorization server, with our registry as its client store and our signed,
15-minute tokens (shared.terminals.credentials) as what it issues."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from sqlalchemy.orm import Session

from shared import audit, integration_clients
from shared.models import IntegrationClient, Terminal
from shared.terminals import credentials

AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class KioskClient(ClientMixin):  # type: ignore[misc]
    """A registered, enrolled kiosk as Authlib sees a client."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal

    def get_client_id(self) -> str | None:
        return self.terminal.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        # Kiosks have one scope; asking for nothing gets it.
        return credentials.SCOPE

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return credentials.secret_matches(self.terminal, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class SystemClient(KioskClient):
    """A back-end system's integration client as Authlib sees a client: it gets the scopes
    it asks for among those it was registered with (all of them when it asks for none)."""

    def __init__(self, client: IntegrationClient) -> None:
        self.client = client

    def get_client_id(self) -> str | None:
        return self.client.client_id

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = list(self.client.scopes)
        if not scope:
            return " ".join(allowed)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_client_secret(self, client_secret: str) -> bool:
        return integration_clients.secret_matches(self.client, client_secret)


class _Grant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, uri: str, headers: Mapping[str, str], form: dict[str, str]) -> None:
        super().__init__("POST", uri, headers=headers)  # case-insensitive, as Authlib expects
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self._form


class TokenServer(AuthorizationServer):  # type: ignore[misc]
    """One per token request: it holds that request's database session."""

    def __init__(self, db: Session, secret_key: str) -> None:
        super().__init__(scopes_supported=[credentials.SCOPE, *integration_clients.SCOPES])
        self.db = db
        self.secret_key = secret_key
        self.register_grant(_Grant)
        self.register_token_generator("default", self._token)

    def query_client(self, client_id: str) -> KioskClient | None:
        system = integration_clients.by_client_id(self.db, client_id or "")
        if system is not None:
            return SystemClient(system)
        terminal = credentials.by_client_id(self.db, client_id or "")
        return KioskClient(terminal) if terminal is not None else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Nothing to store: tokens are signed, and checked against the registry."""

    def _token(
        self,
        grant_type: str,
        client: KioskClient,
        user: object = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        if isinstance(client, SystemClient):
            granted = client.get_allowed_scope(scope)
            assert client.client.client_id is not None
            audit.record(
                self.db,
                integration_clients.actor(client.client),
                audit.AuditAction.INTEGRATION_TOKEN_ISSUED,
                "integration_client",
                client.client.client_id,
                {"scope": granted},
            )
            return {
                "access_token": credentials.sign_token(
                    self.secret_key, client.client.client_id, granted
                ),
                "token_type": "Bearer",
                "expires_in": int(credentials.TOKEN_LIFETIME.total_seconds()),
                "scope": granted,
            }
        issued = credentials.issue_token(self.db, client.terminal, self.secret_key)
        return {
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        }

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request  # built by `token_response` from the Starlette request

    def handle_response(
        self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        return status, body, headers

    def send_signal(self, name: str, *args: object, **kwargs: object) -> None:
        pass


def token_response(
    db: Session,
    secret_key: str,
    uri: str,
    headers: Mapping[str, str],
    form: dict[str, str],
) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
    """(status, body, headers) for one token request."""
    # Authlib refuses http:// URIs. Transport security is the deployment's: behind a TLS
    # proxy the app sees http, and on loopback (the demo, tests) there is nothing to protect.
    secure_uri = "https://" + uri.split("://", 1)[-1]
    server = TokenServer(db, secret_key)
    result: tuple[int, dict[str, Any], list[tuple[str, str]]] = server.create_token_response(
        _Request(secure_uri, headers, form)
    )
    return result
