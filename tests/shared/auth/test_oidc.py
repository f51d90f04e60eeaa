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
    MFA_NOT_SHOWN,
    NAME_TAKEN,
    NO_ROLE,
    SSO_LINKED,
    SSO_LOGIN,
    OidcClient,
    OidcError,
    OidcIdentity,
    OidcLinkError,
    OidcMfaError,
    OidcProviderError,
    OidcRoleError,
    OidcSettings,
    OidcStateError,
    OidcTokenError,
    provision_staff,
    record_refusal,
    return_to,
)
from shared.auth.staff_users import create_staff, ensure_default_roles
from shared.models import AuditEvent, Permission, Role, StaffUser
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
# What needs a second factor, as PAYDESK_MFA_REQUIRED_PERMISSIONS's default.
MFA_PERMISSIONS = ("admin:*", "*:approve", "payments:take")
# How an IdP reports a password and a second factor (RFC 8176).
WITH_MFA = ["pwd", "mfa"]


@pytest.fixture
def client(idp: Provider) -> Iterator[OidcClient]:
    with httpx.Client(timeout=10) as http:
        yield OidcClient(idp.settings(), http)


def sign_in(client: OidcClient, login: str) -> OidcIdentity:
    url, blob = client.start("/staff/customers")
    return client.finish(browse(url, login), blob)


def provision(db: Session, identity: OidcIdentity) -> StaffUser:
    return provision_staff(db, identity, ACTOR, mfa_permissions=MFA_PERMISSIONS)


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
    assert (settings.mfa_amr, settings.mfa_acr, settings.acr_values) == (("mfa",), (), ())
    assert "client_secret" not in repr(OidcSettings(client_secret="hunter2hunter2"))


def test_multi_factor_settings() -> None:
    settings = OidcSettings.from_env(
        {
            "PAYDESK_OIDC_MFA_AMR": "mfa, otp",
            "PAYDESK_OIDC_MFA_ACR": "https://refeds.org/profile/mfa,urn:example:loa:2",
            "PAYDESK_OIDC_ACR_VALUES": "urn:example:loa:2 https://refeds.org/profile/mfa",
        }
    )
    assert settings.mfa_amr == ("mfa", "otp")
    assert settings.mfa_acr == ("https://refeds.org/profile/mfa", "urn:example:loa:2")
    assert settings.acr_values == ("urn:example:loa:2", "https://refeds.org/profile/mfa")
    assert settings.shows_mfa(("pwd", "otp"), None)
    assert settings.shows_mfa((), "urn:example:loa:2")
    assert not settings.shows_mfa(("pwd", "hwk"), "urn:example:loa:1")
    default = OidcSettings()
    assert default.shows_mfa(("pwd", "mfa"), None)
    assert not default.shows_mfa(("otp",), None)  # one factor, if a passwordless one
    assert not default.shows_mfa((), "https://refeds.org/profile/mfa")


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
    assert "acr_values" not in query
    assert return_to(blob) == "/staff/x"
    assert client.start("/")[1]["state"] != blob["state"]


def test_start_asks_for_the_configured_assurance(idp: Provider) -> None:
    idp.set_account("sam", acr="urn:example:loa:2")
    settings = idp.settings(acr_values="urn:example:loa:2 urn:example:loa:1")
    with httpx.Client(timeout=10) as http:
        client = OidcClient(settings, http)
        url, blob = client.start("/")
        query = parse_qs(urlsplit(url).query)
        assert query["acr_values"] == ["urn:example:loa:2 urn:example:loa:1"]
        assert client.finish(browse(url, "sam"), blob).acr == "urn:example:loa:2"


def test_agent_signs_in(client: OidcClient) -> None:
    identity = sign_in(client, "alice")
    assert identity == OidcIdentity(
        issuer=client.settings.issuer,
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


def test_how_the_person_signed_in_comes_from_the_id_token(
    idp: Provider, client: OidcClient
) -> None:
    plain = sign_in(client, "sam")
    assert (plain.amr, plain.acr, plain.multi_factor) == ((), None, False)
    idp.set_account("sam", amr=WITH_MFA)
    strong = sign_in(client, "sam")
    assert (strong.amr, strong.acr, strong.multi_factor) == (("pwd", "mfa"), None, True)
    idp.set_account("sam", amr=["pwd", "otp"], acr="urn:example:loa:2")
    other = sign_in(client, "sam")
    assert (other.amr, other.acr, other.multi_factor) == (
        ("pwd", "otp"),
        "urn:example:loa:2",
        False,  # neither is in the default lists
    )
    settings = idp.settings(mfa_acr="urn:example:loa:2")
    with httpx.Client(timeout=10) as http:
        assert sign_in(OidcClient(settings, http), "sam").multi_factor


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


def test_a_subject_longer_than_openid_connect_allows_is_refused(
    idp: Provider, client: OidcClient
) -> None:
    login = "x" * 256
    idp.set_account(login, groups=["paydesk-agents"])
    with pytest.raises(OidcTokenError, match="did not say who you are") as refused:
        sign_in(client, login)
    assert refused.value.reason == "sub empty or too long"
    idp.set_account(login[1:], groups=["paydesk-agents"], preferred_username="long.sub")
    assert sign_in(client, login[1:]).subject == login[1:]
    # A claim that is no list gives no groups.
    with httpx.Client(timeout=10) as http:
        settings = idp.settings(groups_claim="email_verified")
        assert sign_in(OidcClient(settings, http), "alice").groups == ()


def test_a_name_longer_than_a_staff_username_is_refused(idp: Provider, client: OidcClient) -> None:
    """The username column holds 64 characters: a longer name is a clear refusal (on
    PostgreSQL it was a 500 when the user was written)."""
    idp.set_account("longname", groups=["paydesk-agents"], preferred_username="n" * 65)
    with pytest.raises(OidcTokenError, match="did not say who you are") as refused:
        sign_in(client, "longname")
    assert refused.value.reason == "preferred_username or email too long"
    idp.set_account("longname", preferred_username="n" * 64)
    assert sign_in(client, "longname").username == "n" * 64


def test_tampered_state_is_refused(client: OidcClient) -> None:
    url, blob = client.start("/")
    callback = browse(url, "alice")
    with pytest.raises(OidcStateError, match="not for this browser"):
        client.finish(callback, {**blob, "state": "someone-elses-state"})
    forged = callback.replace(f"state={blob['state']}", "state=forged")
    with pytest.raises(OidcStateError):
        client.finish(forged, blob)
    # Not ASCII: the same refusal, not a TypeError.
    with pytest.raises(OidcStateError):
        client.finish({"code": "x", "state": "\u00e9t\u00e9"}, blob)


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
    # The provider's own address spelt another way, so it answers but names another
    # issuer. Not "localhost": a freshly made root may have no /etc/hosts to resolve it.
    settings = idp.settings(issuer=idp.issuer.replace("127.0.0.1", "127.1"))
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


def _user(db: Session, username: str) -> StaffUser | None:
    return db.scalars(select(StaffUser).where(StaffUser.username == username)).first()


def _last_event(db: Session) -> AuditEvent:
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event is not None
    return event


def test_first_sign_in_creates_an_sso_only_user(
    db: Session, idp: Provider, client: OidcClient
) -> None:
    idp.set_account("sam", amr=WITH_MFA)
    user = provision(db, sign_in(client, "sam"))
    db.commit()
    assert user.username == "sam"
    assert user.display_name == "Sam Supervisor"
    assert user.email == "sam@example.org"
    assert user.password_hash is None
    assert (user.sso_issuer, user.sso_subject) == (idp.issuer, "sam")
    assert _roles(db, "sam") == {"supervisor"}
    assert _actions(db)[-3:] == [
        AuditAction.STAFF_CREATED,
        AuditAction.ROLE_ASSIGNED,
        SSO_LOGIN,
    ]
    assert _last_event(db).details["amr"] == WITH_MFA
    assert audit.verify(db).ok


def test_roles_follow_the_groups_at_each_sign_in(
    db: Session, idp: Provider, client: OidcClient
) -> None:
    first = provision(db, sign_in(client, "carol"))
    db.commit()
    assert _roles(db, "carol") == {"agent"}
    idp.set_groups("carol", ["paydesk-supervisors", "finance-team"])
    idp.set_account("carol", amr=WITH_MFA)
    again = provision(db, sign_in(client, "carol"))
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
    provision(db, sign_in(client, "carol"))
    db.commit()
    assert _actions(db)[before:] == [SSO_LOGIN]
    assert audit.verify(db).ok


# -- multi-factor -----------------------------------------------------------------------


def test_a_supervisor_without_a_second_factor_is_refused(
    db: Session, idp: Provider, client: OidcClient
) -> None:
    identity = sign_in(client, "sam")
    with pytest.raises(OidcMfaError) as refused:
        provision(db, identity)
    assert str(refused.value) == MFA_NOT_SHOWN
    assert refused.value.reason == "no multi-factor: amr -, acr -"
    assert _user(db, "sam") is None
    record_refusal(db, refused.value, "127.0.0.1", identity)
    db.commit()
    event = _last_event(db)
    assert (event.action, event.object_id) == (AuditAction.LOGIN_FAILED, "sam")
    assert event.details == {
        "method": "sso",
        "reason": "no multi-factor: amr -, acr -",
        "issuer": idp.issuer,
        "subject": "sam",
    }
    # A password alone, or a one-time code alone, is one factor.
    for amr in (["pwd"], ["otp"]):
        idp.set_account("sam", amr=amr)
        with pytest.raises(OidcMfaError, match="multi-factor sign-in"):
            provision(db, sign_in(client, "sam"))
    idp.set_account("sam", amr=WITH_MFA)
    assert provision(db, sign_in(client, "sam")).username == "sam"
    assert _roles(db, "sam") == {"supervisor"}


def test_an_agent_signs_in_without_a_second_factor(db: Session, client: OidcClient) -> None:
    identity = sign_in(client, "fran")
    assert not identity.multi_factor
    provision(db, identity)
    assert _roles(db, "fran") == {"agent", "finance"}


def test_becoming_a_supervisor_without_a_second_factor_changes_nothing(
    db: Session, idp: Provider, client: OidcClient
) -> None:
    carol = provision(db, sign_in(client, "carol"))
    db.commit()
    idp.set_groups("carol", ["paydesk-supervisors"])
    idp.set_account("carol", name="Carol Promoted", email="carol.p@example.org")
    before = len(_actions(db))
    with pytest.raises(OidcMfaError):
        provision(db, sign_in(client, "carol"))
    # Nothing to roll back: the refusal comes before any change.
    assert (carol.display_name, carol.email) == ("Carol Changes", "carol@example.org")
    assert _actions(db)[before:] == []
    assert _roles(db, "carol") == {"agent"}


def test_an_accepted_acr_shows_a_second_factor(db: Session, idp: Provider) -> None:
    idp.set_account("sam", acr="urn:example:loa:2")
    with httpx.Client(timeout=10) as http:
        client = OidcClient(idp.settings(mfa_acr="urn:example:loa:2"), http)
        assert provision(db, sign_in(client, "sam")).username == "sam"
        idp.set_account("sam", acr="urn:example:loa:1")
        with pytest.raises(OidcMfaError) as refused:
            provision(db, sign_in(client, "sam"))
    assert refused.value.reason == "no multi-factor: amr -, acr urn:example:loa:1"


def test_what_needs_a_second_factor_comes_from_the_caller(db: Session, client: OidcClient) -> None:
    # fran is finance (exports:gl) and an agent.
    with pytest.raises(OidcMfaError):
        provision_staff(db, sign_in(client, "fran"), ACTOR, mfa_permissions=("exports:*",))
    sam = provision_staff(db, sign_in(client, "sam"), ACTOR, mfa_permissions=())
    assert sam.username == "sam"


def test_a_mapped_custom_role_with_administration_needs_a_second_factor(
    db: Session, idp: Provider
) -> None:
    """Decided by what the roles allow, not their names: a role made here counts too."""
    ensure_default_roles(db)
    known = {p.code: p for p in db.scalars(select(Permission))}
    db.add(Role(name="helpdesk-lead", description="x", permissions=[known["admin:users"]]))
    db.flush()
    idp.set_account("hal", name="Hal", email="hal@example.org", groups=["helpdesk"])
    with httpx.Client(timeout=10) as http:
        mapped = OidcClient(idp.settings(role_map="helpdesk=helpdesk-lead"), http)
        with pytest.raises(OidcMfaError):
            provision(db, sign_in(mapped, "hal"))
        idp.set_account("hal", amr=WITH_MFA)
        assert provision(db, sign_in(mapped, "hal")).username == "hal"


# -- binding accounts to the IdP's identity ------------------------------------------------


def test_a_local_account_with_the_same_name_is_not_taken_over(
    db: Session, idp: Provider, client: OidcClient
) -> None:
    create_staff(
        db,
        ACTOR,
        username="fran",
        password="a long local password",
        display_name="F",
        roles=["admin", "finance"],
    )
    db.commit()
    # Whoever holds the name at the IdP, with or without a second factor.
    idp.set_account("mallory", preferred_username="Fran", groups=["finance-team"], amr=WITH_MFA)
    for login in ("fran", "mallory"):
        identity = sign_in(client, login)
        assert identity.username == "fran"
        with pytest.raises(OidcLinkError) as refused:
            provision(db, identity)
        assert str(refused.value) == NAME_TAKEN
        assert refused.value.reason == "username of a local account"
    user = _user(db, "fran")
    assert user is not None
    assert (user.display_name, user.sso_issuer, user.sso_subject) == ("F", None, None)
    assert _roles(db, "fran") == {"admin", "finance"}
    record_refusal(db, refused.value, "127.0.0.1", identity)
    db.commit()
    assert _last_event(db).details == {
        "method": "sso",
        "reason": "username of a local account",
        "issuer": idp.issuer,
        "subject": "mallory",
    }
    assert audit.verify(db).ok


def test_a_name_bound_to_another_identity_is_refused(
    db: Session, idp: Provider, client: OidcClient
) -> None:
    alice = provision(db, sign_in(client, "alice"))
    db.commit()
    idp.set_account(
        "alice2", preferred_username="alice", groups=["paydesk-supervisors"], amr=WITH_MFA
    )
    with pytest.raises(OidcLinkError, match="already exists here") as refused:
        provision(db, sign_in(client, "alice2"))
    assert refused.value.reason == "username bound to another sso identity"
    assert (alice.sso_subject, _roles(db, "alice")) == ("alice", {"agent"})


def test_a_returning_user_is_found_by_subject_not_by_name(
    db: Session, idp: Provider, client: OidcClient
) -> None:
    first = provision(db, sign_in(client, "alice"))
    db.commit()
    idp.set_account("alice", preferred_username="alice.b", name="Alice B")
    again = provision(db, sign_in(client, "alice"))
    assert again.id == first.id
    assert (again.username, again.display_name) == ("alice", "Alice B")
    assert _user(db, "alice.b") is None


def test_an_unbound_sso_account_is_bound_at_its_next_sign_in(
    db: Session, idp: Provider, client: OidcClient
) -> None:
    # As SSO made them before migration 0013: no password, no identity.
    older = StaffUser(username="carol", display_name="Carol", email=None, password_hash=None)
    db.add(older)
    db.commit()
    user = provision(db, sign_in(client, "carol"))
    db.commit()
    assert user.id == older.id
    assert (user.sso_issuer, user.sso_subject) == (idp.issuer, "carol")
    assert _actions(db)[-3:] == [SSO_LINKED, AuditAction.ROLE_ASSIGNED, SSO_LOGIN]
    # Bound now: the name no longer opens it to anyone else.
    idp.set_account("carol2", preferred_username="carol", groups=["paydesk-agents"])
    with pytest.raises(OidcLinkError):
        provision(db, sign_in(client, "carol2"))


def test_no_mapped_group_is_refused(db: Session, idp: Provider, client: OidcClient) -> None:
    identity = sign_in(client, "nora")
    assert identity.roles == ()
    with pytest.raises(OidcRoleError) as refused:
        provision(db, identity)
    assert str(refused.value) == NO_ROLE
    assert _user(db, "nora") is None
    record_refusal(db, refused.value, "127.0.0.1", identity)
    record_refusal(db, OidcStateError("x", "state mismatch"), "127.0.0.1")
    db.commit()
    unnamed, named = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).all()[:2]
    assert named.action == unnamed.action == AuditAction.LOGIN_FAILED
    assert (named.actor_id, named.object_id) == ("nora", "nora")
    assert named.details == {
        "method": "sso",
        "reason": "no mapped role",
        "issuer": idp.issuer,
        "subject": "nora",
    }
    assert (unnamed.actor_id, unnamed.object_id) == ("-", "-")
    assert unnamed.details == {"method": "sso", "reason": "state mismatch"}
    assert audit.verify(db).ok


def test_role_map_naming_an_unknown_role_is_refused(db: Session, idp: Provider) -> None:
    with httpx.Client(timeout=10) as http:
        client = OidcClient(idp.settings(role_map="paydesk-agents=superhero"), http)
        identity = sign_in(client, "alice")
    with pytest.raises(OidcRoleError, match="role Paydesk does not have") as refused:
        provision(db, identity)
    assert "superhero" in refused.value.reason


def test_deactivated_user_is_refused(db: Session, client: OidcClient) -> None:
    user = provision(db, sign_in(client, "alice"))
    user.active = False
    db.flush()
    with pytest.raises(OidcError, match="not active"):
        provision(db, sign_in(client, "alice"))


def test_a_card_number_in_the_idp_s_name_is_never_kept(db: Session, idp: Provider) -> None:
    idp.set_account("alice", name="Alice 4111 1111 1111 1111")
    with httpx.Client(timeout=10) as http:
        user = provision(db, sign_in(OidcClient(idp.settings(), http), "alice"))
    assert user.display_name == "Alice ************1111"
