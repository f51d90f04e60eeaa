"""Single sign-on against a real OpenID Connect provider (oidc-provider on loopback).

Every token here is one the provider issued; the "bad token" tests alter a real token
on its way back from the provider, as an attacker in the middle would.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor, ActorType
from shared.audit import AuditAction
from shared.auth import access
from shared.auth.oidc import (
    NO_ROLE,
    SSO_LOGIN,
    OidcClient,
    OidcError,
    OidcIdentity,
    OidcProviderError,
    OidcRoleError,
    OidcSettings,
    OidcStateError,
    OidcTokenError,
    provision_staff,
    record_refusal,
    return_to,
)
from shared.models import AuditEvent, StaffUser
from shared.staff_accounts import create_staff
from tests.shared.auth.oidc_fixtures import (
    CLIENT_ID,
    REDIRECT_URI,
    Provider,
    browse,
    idp,
    oidc_provider,
    run_provider,
)

__all__ = ["idp", "oidc_provider"]  # fixtures, used by name

pytestmark = pytest.mark.slow
ACTOR = Actor(ActorType.SYSTEM, "sso-test", "127.0.0.1")


@pytest.fixture
def client(idp: Provider) -> Iterator[OidcClient]:
    with httpx.Client(timeout=10) as http:
        yield OidcClient(idp.settings(), http)


def sign_in(client: OidcClient, login: str) -> OidcIdentity:
    url, blob = client.start("/staff/customers")
    return client.finish(browse(url, login), blob)


# -- settings -------------------------------------------------------------------------


def test_settings_from_the_environment() -> None:
    settings = OidcSettings.from_env(
        {
            "PAYDESK_OIDC_ISSUER": "https://idp.example.org/",
            "PAYDESK_OIDC_CLIENT_ID": "paydesk",
            "PAYDESK_OIDC_ROLE_MAP": "a=agent, b=supervisor,b=finance,broken,=x",
        }
    )
    assert settings.enabled
    assert settings.issuer == "https://idp.example.org"
    assert settings.scopes == ("openid", "profile", "email", "groups")
    assert settings.groups_claim == "groups"
    assert settings.role_map == (("a", "agent"), ("b", "supervisor"), ("b", "finance"))
    assert settings.roles_for(("b", "c")) == ("finance", "supervisor")
    assert "client_secret" not in repr(OidcSettings(client_secret="hunter2hunter2"))


def test_settings_disabled_without_issuer_or_client() -> None:
    assert not OidcSettings.from_env({}).enabled
    assert not OidcSettings.from_env({"PAYDESK_OIDC_ISSUER": "https://idp"}).enabled


# -- the flow -------------------------------------------------------------------------


def test_start_asks_for_code_with_pkce_nonce_and_state(client: OidcClient) -> None:
    url, blob = client.start("/staff/x")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(client.metadata()["authorization_endpoint"])
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["scope"] == "openid profile email groups"
    assert query["state"] == blob["state"]
    assert query["nonce"] == blob["nonce"]
    assert query["code_challenge_method"] == "S256"
    assert blob["code_verifier"] not in url
    assert return_to(blob) == "/staff/x"
    assert client.start("/")[1]["state"] != blob["state"]


def test_agent_signs_in(client: OidcClient) -> None:
    identity = sign_in(client, "alice")
    assert identity == OidcIdentity(
        subject="alice",
        username="alice",
        email="alice@example.org",
        name="Alice Agent",
        groups=("paydesk-agents",),
        roles=("agent",),
    )


def test_supervisor_group_gives_supervisor(client: OidcClient) -> None:
    identity = sign_in(client, "sam")
    assert identity.roles == ("supervisor",)
    assert sign_in(client, "fran").roles == ("agent", "finance")


def test_client_secret_post_when_the_idp_only_takes_that(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tmp = tmp_path_factory.mktemp("oidc-post")
    with (
        run_provider(tmp, "--client-auth-method=client_secret_post") as provider,
        httpx.Client(timeout=10) as http,
    ):
        client = OidcClient(provider.settings(), http)
        assert client.metadata()["token_endpoint_auth_methods_supported"] == ["client_secret_post"]
        assert sign_in(client, "sam").roles == ("supervisor",)


def test_a_custom_groups_claim_and_scopes(idp: Provider) -> None:
    settings = idp.settings(groups_claim="email", scopes="openid,email", role_map="x=agent")
    with httpx.Client(timeout=10) as http:
        identity = sign_in(OidcClient(settings, http), "alice")
    assert identity.groups == ("alice@example.org",)
    assert identity.roles == ()
    assert identity.username == "alice@example.org"  # no profile scope: no preferred_username
    assert identity.name == "alice@example.org"


# -- refusals -------------------------------------------------------------------------


def test_tampered_state_is_refused(client: OidcClient) -> None:
    url, blob = client.start("/")
    callback = browse(url, "alice")
    with pytest.raises(OidcStateError, match="not for this browser"):
        client.finish(callback, {**blob, "state": "someone-elses-state"})
    forged = callback.replace(f"state={blob['state']}", "state=forged")
    with pytest.raises(OidcStateError):
        client.finish(forged, blob)


def test_missing_or_stale_sign_in_is_refused(client: OidcClient) -> None:
    _, blob = client.start("/")
    with pytest.raises(OidcStateError, match="expired or was started elsewhere"):
        client.finish({"code": "x", "state": blob["state"]}, None)
    stale = {**blob, "started": str(int(blob["started"]) - 11 * 60)}
    with pytest.raises(OidcStateError, match="took too long"):
        client.finish({"code": "x", "state": blob["state"]}, stale)


def test_nonce_mismatch_is_refused(client: OidcClient) -> None:
    url, blob = client.start("/")
    callback = browse(url, "alice")
    with pytest.raises(OidcTokenError, match="could not be verified") as refused:
        client.finish(callback, {**blob, "nonce": "a-nonce-from-another-sign-in"})
    assert "nonce" in refused.value.reason


def test_code_is_single_use_and_bound_to_the_verifier(client: OidcClient) -> None:
    url, blob = client.start("/")
    callback = browse(url, "alice")
    with pytest.raises(OidcTokenError, match="did not accept"):
        client.finish(callback, {**blob, "code_verifier": "x" * 64})
    url, blob = client.start("/")
    callback = browse(url, "alice")
    client.finish(callback, blob)
    with pytest.raises(OidcTokenError, match="did not accept"):
        client.finish(callback, blob)


def test_cancelled_at_the_idp_gives_a_plain_error(client: OidcClient) -> None:
    url, blob = client.start("/")
    callback = browse(url, "alice", cancel=True)
    assert "error=access_denied" in callback
    with pytest.raises(OidcProviderError) as refused:
        client.finish(callback, blob)
    assert str(refused.value) == "Signing in was cancelled or refused at the identity provider."
    assert refused.value.reason == "provider: access_denied"


def test_other_provider_errors_and_a_missing_code(client: OidcClient) -> None:
    _, blob = client.start("/")
    with pytest.raises(OidcProviderError, match="could not sign you in"):
        client.finish({"error": "server_error", "state": blob["state"]}, blob)
    with pytest.raises(OidcProviderError, match="sent no sign-in code"):
        client.finish({"state": blob["state"]}, blob)
    with pytest.raises(OidcStateError, match="another identity provider"):
        client.finish({"code": "x", "state": blob["state"], "iss": "https://evil"}, blob)


def _segment(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _resign_with_another_key(id_token: str) -> str:
    header = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "=="))
    claims = json.loads(base64.urlsafe_b64decode(id_token.split(".")[1] + "=="))
    # Same claims, same kid: only the key differs.
    return jwt.encode(header, claims, RSAKey.generate_key(2048))


def _flip_signature(id_token: str) -> str:
    head, body, signature = id_token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[0] ^= 0xFF
    return ".".join([head, body, base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()])


def _more_groups(id_token: str) -> str:
    head, body, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["groups"] = ["paydesk-supervisors"]
    return ".".join([head, _segment(claims), signature])


class RewriteIdToken(httpx.BaseTransport):
    """Between us and the IdP: alters the ID token in the token endpoint's answer."""

    def __init__(self, rewrite: Callable[[str], str]) -> None:
        self.inner = httpx.HTTPTransport()
        self.rewrite = rewrite

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path != "/token":
            return response
        response.read()
        token = response.json()
        token["id_token"] = self.rewrite(token["id_token"])
        return httpx.Response(response.status_code, json=token)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize(
    "rewrite", [_resign_with_another_key, _flip_signature, _more_groups], ids=lambda f: f.__name__
)
def test_altered_id_token_is_refused(idp: Provider, rewrite: Callable[[str], str]) -> None:
    with httpx.Client(timeout=10, transport=RewriteIdToken(rewrite)) as http:
        client = OidcClient(idp.settings(), http)
        url, blob = client.start("/")
        with pytest.raises(OidcTokenError, match="could not be verified") as refused:
            client.finish(browse(url, "alice"), blob)
    assert "bad_signature" in refused.value.reason


def test_wrong_issuer_in_discovery_is_refused(idp: Provider) -> None:
    settings = idp.settings(issuer=idp.issuer.replace("127.0.0.1", "localhost"))
    with httpx.Client(timeout=10) as http, pytest.raises(OidcProviderError) as refused:
        OidcClient(settings, http).start("/")
    assert refused.value.reason == "discovery issuer mismatch"


def test_idp_not_answering() -> None:
    settings = OidcSettings(issuer="http://127.0.0.1:9", client_id="x")
    with httpx.Client(timeout=2) as http, pytest.raises(OidcProviderError, match="not answering"):
        OidcClient(settings, http).start("/")


# -- provisioning ---------------------------------------------------------------------


def _roles(db: Session, username: str) -> set[str]:
    user = db.scalars(select(StaffUser).where(StaffUser.username == username)).one()
    return access.role_names(db, user)


def _actions(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_first_sign_in_creates_an_sso_only_user(db: Session, client: OidcClient) -> None:
    user = provision_staff(db, sign_in(client, "sam"), ACTOR)
    db.commit()
    assert user.username == "sam"
    assert user.display_name == "Sam Supervisor"
    assert user.email == "sam@example.org"
    assert user.password_hash is None
    assert _roles(db, "sam") == {"supervisor"}
    assert _actions(db)[-3:] == [
        AuditAction.STAFF_CREATED,
        AuditAction.ROLE_ASSIGNED,
        SSO_LOGIN,
    ]
    assert audit.verify(db).ok


def test_roles_follow_the_groups_at_each_sign_in(
    db: Session, idp: Provider, client: OidcClient
) -> None:
    first = provision_staff(db, sign_in(client, "carol"), ACTOR)
    db.commit()
    assert _roles(db, "carol") == {"agent"}
    idp.set_groups("carol", ["paydesk-supervisors", "finance-team"])
    again = provision_staff(db, sign_in(client, "carol"), ACTOR)
    db.commit()
    assert again.id == first.id
    assert _roles(db, "carol") == {"supervisor", "finance"}
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.object_id == str(first.id)).order_by(AuditEvent.seq)
    ).all()
    changes = [(e.action, e.details.get("role")) for e in events if e.action != SSO_LOGIN]
    assert changes[-3:] == [
        (AuditAction.ROLE_REMOVED, "agent"),
        (AuditAction.ROLE_ASSIGNED, "finance"),
        (AuditAction.ROLE_ASSIGNED, "supervisor"),
    ]
    # Same groups again: nothing changes, only the sign-in is recorded.
    before = len(_actions(db))
    provision_staff(db, sign_in(client, "carol"), ACTOR)
    db.commit()
    assert _actions(db)[before:] == [SSO_LOGIN]
    assert audit.verify(db).ok


def test_existing_local_user_gets_exactly_the_mapped_roles(db: Session, client: OidcClient) -> None:
    create_staff(
        db,
        ACTOR,
        username="fran",
        password="a long local password",
        display_name="F",
        roles=["admin", "finance"],
    )
    user = provision_staff(db, sign_in(client, "fran"), ACTOR)
    db.commit()
    assert user.password_hash is not None  # the local password still works
    assert user.display_name == "Fran Finance"
    assert _roles(db, "fran") == {"agent", "finance"}
    assert audit.verify(db).ok


def test_no_mapped_group_is_refused(db: Session, client: OidcClient) -> None:
    identity = sign_in(client, "nora")
    assert identity.roles == ()
    with pytest.raises(OidcRoleError) as refused:
        provision_staff(db, identity, ACTOR)
    assert str(refused.value) == NO_ROLE
    assert db.scalars(select(StaffUser).where(StaffUser.username == "nora")).first() is None
    record_refusal(db, refused.value, "127.0.0.1", identity.username)
    db.commit()
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event is not None
    assert event.action == AuditAction.LOGIN_FAILED
    assert (event.actor_id, event.object_id) == ("nora", "nora")
    assert event.details == {"method": "sso", "reason": "no mapped role"}
    assert audit.verify(db).ok


def test_role_map_naming_an_unknown_role_is_refused(db: Session, idp: Provider) -> None:
    with httpx.Client(timeout=10) as http:
        client = OidcClient(idp.settings(role_map="paydesk-agents=superhero"), http)
        identity = sign_in(client, "alice")
    with pytest.raises(OidcRoleError, match="role Paydesk does not have") as refused:
        provision_staff(db, identity, ACTOR)
    assert "superhero" in refused.value.reason


def test_deactivated_user_is_refused(db: Session, client: OidcClient) -> None:
    user = provision_staff(db, sign_in(client, "alice"), ACTOR)
    user.active = False
    db.flush()
    with pytest.raises(OidcError, match="not active"):
        provision_staff(db, sign_in(client, "alice"), ACTOR)
