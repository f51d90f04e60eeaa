"""Staff single sign-on through the whole app against a real OpenID Connect provider."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from shared import audit
from shared.audit import AuditAction
from shared.auth import access
from shared.auth.login import MAX_FAILURES
from shared.auth.oidc import OidcClient
from shared.models import AuditEvent, StaffUser
from tests.shared.auth.oidc_fixtures import Provider, browse, idp, oidc_provider  # noqa: F401
from tests.staff.conftest import Console, post_login

ROLE_OF = {"alice": "agent", "sam": "supervisor"}
# How an IdP reports a password and a second factor (RFC 8176).
WITH_MFA = ["pwd", "mfa"]


@pytest.fixture
def sso(console: Console, idp: Provider) -> Iterator[Console]:  # noqa: F811
    client = OidcClient(idp.settings())
    console.runtime.oidc = client
    yield console
    console.runtime.oidc = None
    client.close()


def come_back(client: TestClient, login: str) -> httpx.Response:
    """Start at the console, sign in at the IdP, and the console's answer to the callback."""
    start = client.get("/staff/login/sso?next=/staff/")
    assert start.status_code == 303
    parts = urlsplit(browse(start.headers["location"], login))
    return client.get(f"{parts.path}?{parts.query}")


def sign_in_with_sso(client: TestClient, login: str) -> str:
    """Start at the console, sign in at the IdP, come back; returns where we land."""
    back = come_back(client, login)
    assert back.status_code == 303, back.text
    return back.headers["location"]


@pytest.mark.parametrize("login", ["alice", "sam"])
def test_sso_signs_in_with_the_role_from_the_idp_groups(
    sso: Console,
    idp: Provider,  # noqa: F811
    login: str,
) -> None:
    idp.set_account("sam", amr=WITH_MFA)  # a supervisor needs a second factor
    client = sso.client()
    assert "Sign in with single sign-on" in client.get("/staff/login").text
    assert sign_in_with_sso(client, login) == "/staff/"
    home = client.get("/staff/")
    assert home.status_code == 200
    assert ROLE_OF[login] in home.text
    with sso.factory() as db:
        user = db.scalars(select(StaffUser).where(StaffUser.username == login)).one()
        assert user.password_hash is None  # an SSO-only account
        actions = set(db.scalars(select(AuditEvent.action)))
        assert {"auth:sso:login", "auth:login:succeeded"} <= actions
        assert audit.verify(db).ok


def test_a_person_without_a_mapped_group_is_refused_and_it_is_audited(
    sso: Console,
    idp: Provider,  # noqa: F811
) -> None:
    idp.set_groups("alice", ["everyone"])
    client = sso.client()
    start = client.get("/staff/login/sso")
    callback = browse(start.headers["location"], "alice")
    parts = urlsplit(callback)
    refused = client.get(f"{parts.path}?{parts.query}")
    assert refused.status_code == 403
    assert "no Paydesk role" in refused.text
    assert client.get("/staff/").status_code == 303  # still signed out


def test_a_replayed_callback_is_refused(sso: Console) -> None:
    client = sso.client()
    start = client.get("/staff/login/sso")
    callback = browse(start.headers["location"], "alice")
    parts = urlsplit(callback)
    assert client.get(f"{parts.path}?{parts.query}").status_code == 303
    again = sso.client().get(f"{parts.path}?{parts.query}")
    assert again.status_code == 403


def test_without_sso_settings_there_is_no_sso_button(console: Console) -> None:
    client = console.client()
    assert "single sign-on" not in client.get("/staff/login").text
    assert client.get("/staff/login/sso").status_code == 404


def test_sso_only_users_have_no_password_to_change(sso: Console) -> None:
    client = sso.client()
    assert sign_in_with_sso(client, "alice") == "/staff/"
    assert "Change my password" not in client.get("/staff/").text
    page = client.get("/staff/account/password")
    assert page.status_code == 200 and "single sign-on" in page.text
    assert 'name="new"' not in page.text
    # Even a flag set by mistake never shuts them out of the console.
    with sso.factory() as db:
        user = db.scalars(select(StaffUser).where(StaffUser.username == "alice")).one()
        user.must_change_password = True
        db.commit()
    assert client.get("/staff/").status_code == 200


def _user(console: Console, username: str) -> StaffUser:
    with console.factory() as db:
        return db.scalars(select(StaffUser).where(StaffUser.username == username)).one()


def test_a_password_lock_neither_stops_sso_nor_is_lifted_by_it(sso: Console) -> None:
    assert sign_in_with_sso(sso.client(), "carol") == "/staff/"
    # Someone guesses passwords for the name until it locks: that must not shut the real
    # person out of single sign-on, and their sign-in must not give the guesser new tries.
    guesser = sso.client()
    answers = [post_login(guesser, "carol", "a guess").status_code for _ in range(MAX_FAILURES)]
    assert answers[-1] == 429
    locked_until = _user(sso, "carol").locked_until
    assert locked_until is not None

    client = sso.client()
    assert sign_in_with_sso(client, "carol") == "/staff/"
    assert client.get("/staff/").status_code == 200
    assert _user(sso, "carol").locked_until == locked_until
    assert post_login(guesser, "carol", "another guess").status_code == 429
    with sso.factory() as db:
        user_id = str(_user(sso, "carol").id)
        details = db.scalars(
            select(AuditEvent.details)
            .where(AuditEvent.action == AuditAction.LOGIN_SUCCEEDED)
            .where(AuditEvent.object_id == user_id)
            .order_by(AuditEvent.seq.desc())
        ).first()
    assert details == {"factors": ["sso"], "password_locked_until": locked_until.isoformat()}


def test_a_deactivated_account_cannot_sign_in_with_sso(sso: Console) -> None:
    assert sign_in_with_sso(sso.client(), "fran") == "/staff/"
    with sso.factory() as db:
        db.execute(update(StaffUser).where(StaffUser.username == "fran").values(active=False))
        db.commit()
    client = sso.client()
    start = client.get("/staff/login/sso")
    parts = urlsplit(browse(start.headers["location"], "fran"))
    refused = client.get(f"{parts.path}?{parts.query}")
    assert refused.status_code == 403 and "This account is not active." in refused.text
    assert client.get("/staff/").status_code == 303


def _last_refusal(console: Console) -> AuditEvent:
    with console.factory() as db:
        event = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == AuditAction.LOGIN_FAILED)
            .order_by(AuditEvent.seq.desc())
        ).first()
        assert event is not None
        return event


def test_a_supervisor_needs_a_second_factor_at_the_idp(
    sso: Console,
    idp: Provider,  # noqa: F811
) -> None:
    idp.set_account("sid", name="Sid", email="sid@example.org", groups=["paydesk-supervisors"])
    client = sso.client()
    refused = come_back(client, "sid")
    assert refused.status_code == 403
    assert "needs a multi-factor sign-in" in refused.text
    assert client.get("/staff/").status_code == 303  # still signed out
    event = _last_refusal(sso)
    assert (event.object_id, event.details["reason"]) == ("sid", "no multi-factor: amr -, acr -")
    assert event.details["subject"] == "sid"
    with sso.factory() as db:
        assert db.scalars(select(StaffUser).where(StaffUser.username == "sid")).first() is None

    idp.set_account("sid", amr=WITH_MFA)
    assert sign_in_with_sso(client, "sid") == "/staff/"
    home = client.get("/staff/")
    assert home.status_code == 200 and "supervisor" in home.text


def test_an_idp_name_does_not_open_a_local_account(
    sso: Console,
    idp: Provider,  # noqa: F811
) -> None:
    local = sso.user(["admin"], mfa=True)
    idp.set_account(
        "mallory", preferred_username=local.username, groups=["paydesk-agents"], amr=WITH_MFA
    )
    client = sso.client()
    refused = come_back(client, "mallory")
    assert refused.status_code == 403
    assert "An account with this name already exists here." in refused.text
    assert client.get("/staff/").status_code == 303
    event = _last_refusal(sso)
    assert (event.object_id, event.details["subject"]) == (local.username, "mallory")
    assert event.details["reason"] == "username of a local account"
    user = _user(sso, local.username)
    assert (user.sso_subject, user.password_hash is not None) == (None, True)
    with sso.factory() as db:
        assert access.role_names(db, user) == {"admin"}
