"""Signing in and out of the staff console: passwords, lockout, TOTP, sessions, audit."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import delete, select, update
from starlette.testclient import TestClient

from shared import audit
from shared.audit import AuditAction
from shared.auth.login import MAX_FAILURES, SLOW_AFTER
from shared.auth.mfa import STEP_SECONDS
from shared.db import transaction, utcnow
from shared.models import AuditEvent, Role, RoleAssignment, StaffUser, WebSession
from tests.staff.conftest import (
    Account,
    Console,
    answer_code_step,
    code_at,
    csrf_from,
    post,
    post_login,
    secret_from,
    session_cookie,
    sign_in,
    signed_in,
    totp,
)

WRONG = "The username or password is not right."
CODE_REFUSED = "The code was not accepted."
LOCKED = "Too many failed sign-ins from here. This account is locked on this device until"


def actions(console: Console, object_id: object) -> list[str]:
    with transaction(console.factory) as db:
        found = db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == str(object_id))
            .order_by(AuditEvent.seq)
        )
        return list(found)


def chain_ok(console: Console) -> bool:
    with transaction(console.factory) as db:
        return audit.verify(db).ok


def test_agent_signs_in_with_a_password_alone(console: Console, client: TestClient) -> None:
    account = console.user(["agent"])
    response = post_login(client, account.username.upper() + " ", account.password)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/"
    home = client.get("/staff/")
    assert home.status_code == 200
    assert "Signed in as" in home.text and account.username in home.text
    assert "No follow-ups due" in home.text
    assert home.headers["cache-control"] == "no-store"
    assert actions(console, account.id)[-1] == AuditAction.LOGIN_SUCCEEDED


def test_wrong_password_and_unknown_user_get_the_same_answer(
    console: Console, client: TestClient
) -> None:
    account = console.user(["agent"])
    wrong = post_login(client, account.username, "not-the-password")
    unknown = post_login(client, "nobody-" + account.username, "not-the-password")
    assert wrong.status_code == unknown.status_code == 422
    assert WRONG in wrong.text and WRONG in unknown.text
    assert 'aria-invalid="true"' in wrong.text and 'href="#login-username"' in wrong.text
    assert client.get("/staff/").status_code == 303
    assert actions(console, account.username)[-1] == AuditAction.LOGIN_FAILED
    assert actions(console, "nobody-" + account.username) == [AuditAction.LOGIN_FAILED]


def test_a_nul_in_the_username_gets_a_plain_refusal(console: Console, client: TestClient) -> None:
    # On PostgreSQL this was a 500: a text parameter cannot hold a NUL.
    account = console.user(["agent"])
    response = post_login(client, account.username + "\x00", account.password)
    assert response.status_code == 400
    assert "The form contains a control character" in response.text
    assert client.get("/staff/").status_code == 303


def test_empty_fields_are_named(client: TestClient) -> None:
    response = post_login(client, "", "")
    assert response.status_code == 422
    assert "Enter your username." in response.text and "Enter your password." in response.text


def test_five_failures_lock_the_account_until_an_admin_unlocks_it(
    console: Console, client: TestClient
) -> None:
    account = console.user(["agent"])
    for _ in range(MAX_FAILURES - 1):
        assert post_login(client, account.username, "wrong-password").status_code == 422
    locked = post_login(client, account.username, "wrong-password")
    assert locked.status_code == 429
    assert LOCKED in locked.text and "An administrator can unlock it." in locked.text
    # Even the right password is refused while locked.
    again = post_login(client, account.username, account.password)
    assert again.status_code == 429 and LOCKED in again.text
    assert AuditAction.ACCOUNT_LOCKED in actions(console, account.id)
    # From the person's own desk, the right password still signs in.
    sign_in(console.client("10.20.30.40"), account)

    admin, _ = signed_in(console, ["admin"])
    assert post(admin, f"/staff/admin/users/{account.id}/unlock").status_code == 303
    assert actions(console, account.id)[-1] == AuditAction.STAFF_UNLOCKED
    sign_in(client, account)
    assert chain_ok(console)


def test_failures_from_elsewhere_never_keep_out_the_password_and_code(console: Console) -> None:
    """Guessing from many addresses slows the name; the password with a valid code from
    the person's authenticator still signs in at once."""
    account = console.user(["supervisor"], mfa=True)
    for n in range(SLOW_AFTER.attempts + 2):
        guess = post_login(console.client(f"198.51.100.{n}"), account.username, f"guess-{n}")
        assert guess.status_code in {422, 429}
    desk = console.client("10.9.8.7")
    # Someone else's guess just now took the name's one password check of this step.
    post_login(console.client("198.51.100.99"), account.username, "another-guess")
    slowed = post_login(desk, account.username, account.password)
    assert slowed.status_code == 429
    assert "There have been many failed sign-ins with this username." in slowed.text
    assert 'name="code"' in slowed.text
    # Both factors together: straight in.
    both = desk.post(
        "/staff/login",
        data={
            "username": account.username,
            "password": account.password,
            "code": totp(account),
            "csrf_token": csrf_from(slowed.text),
        },
    )
    assert both.status_code == 303
    assert desk.get("/staff/").status_code == 200
    # A wrong password with a valid code reads as any failure: no hint which was wrong.
    other = console.client("10.9.8.8")
    token = csrf_from(other.get("/staff/login").text)
    wrong = other.post(
        "/staff/login",
        data={
            "username": account.username,
            "password": "not-it",
            "code": totp(account),
            "csrf_token": token,
        },
    )
    assert wrong.status_code == 422
    assert "The username, password or code is not right." in wrong.text


def test_an_unknown_username_locks_like_a_real_one(client: TestClient) -> None:
    statuses = [post_login(client, "ghost-user", "wrong-password").status_code for _ in range(5)]
    assert statuses == [422, 422, 422, 422, 429]


def test_a_success_resets_the_failure_count(console: Console, client: TestClient) -> None:
    account = console.user(["agent"])
    for _ in range(MAX_FAILURES - 1):
        post_login(client, account.username, "wrong-password")
    sign_in(client, account)
    other = console.client()
    assert post_login(other, account.username, "wrong-password").status_code == 422


def test_inactive_users_are_refused(console: Console, client: TestClient) -> None:
    account = console.user(["agent"], active=False)
    response = post_login(client, account.username, account.password)
    assert response.status_code == 422
    assert "This account is not active." in response.text
    assert client.get("/staff/").status_code == 303
    with transaction(console.factory) as db:
        reasons = db.scalars(
            select(AuditEvent.details).where(
                AuditEvent.object_id == account.username,
                AuditEvent.action == AuditAction.LOGIN_FAILED,
            )
        ).all()
    assert reasons == [{"reason": "inactive"}]


def test_access_changes_reach_a_signed_in_user_on_the_next_request(console: Console) -> None:
    # Permissions are cached per process under the access stamp; the stamp is read with
    # the session on every request, so a change made elsewhere (another process, SQL by
    # hand) is seen at once.
    client, account = signed_in(console, ["agent"])
    assert client.get("/staff/search").status_code == 200
    with transaction(console.factory) as db:
        db.execute(delete(RoleAssignment).where(RoleAssignment.user_id == account.id))
    assert client.get("/staff/search").status_code == 403

    with transaction(console.factory) as db:
        auditor = db.scalars(select(Role).where(Role.name == "auditor")).one()
        db.add(RoleAssignment(user_id=account.id, role_id=auditor.id))
    assert client.get("/staff/search").status_code == 200

    with transaction(console.factory) as db:
        db.execute(update(StaffUser).where(StaffUser.id == account.id).values(active=False))
    response = client.get("/staff/search")
    assert response.status_code == 303 and "/staff/login" in response.headers["location"]


def test_the_session_id_changes_at_sign_in(console: Console, client: TestClient) -> None:
    account = console.user(["agent"])
    client.get("/staff/login")
    before = session_cookie(client)
    assert before
    sign_in(client, account)
    assert session_cookie(client) not in {None, before}


def test_not_signed_in_goes_to_sign_in_and_comes_back(console: Console, client: TestClient) -> None:
    response = client.get("/staff/admin/roles?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=%2Fstaff%2Fadmin%2Froles%3Fx%3D1"
    account = console.user(["auditor"])
    page = client.get(response.headers["location"])
    back = client.post(
        "/staff/login",
        data={
            "username": account.username,
            "password": account.password,
            "next": "/staff/admin/roles?x=1",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert back.headers["location"] == "/staff/admin/roles?x=1"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/staff/", "/elsewhere"])
def test_next_never_leaves_the_staff_console(
    console: Console, client: TestClient, target: str
) -> None:
    account = console.user(["agent"])
    response = post_login(client, account.username, account.password, next_=target)
    assert response.headers["location"] == "/staff/"


def test_sign_out_ends_the_session(console: Console) -> None:
    client, account = signed_in(console, ["agent"])
    old = session_cookie(client)
    response = post(client, "/staff/logout")
    assert response.status_code == 303
    assert client.get("/staff/").status_code == 303
    # The old cookie no longer works, even if someone kept it.
    stale = console.client()
    stale.cookies.set("paydesk_session", old or "")
    assert stale.get("/staff/").status_code == 303
    assert actions(console, account.id)[-1] == AuditAction.LOGOUT


def test_sign_out_everywhere_ends_other_sessions(console: Console) -> None:
    first, account = signed_in(console, ["agent"])
    second = console.client()
    sign_in(second, account)
    assert second.get("/staff/").status_code == 200
    assert post(first, "/staff/logout/everywhere").status_code == 303
    assert first.get("/staff/").status_code == 303
    assert second.get("/staff/").status_code == 303
    assert actions(console, account.id)[-1] == AuditAction.LOGOUT_EVERYWHERE


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_mfa_is_required_for_supervisors_and_admins(console: Console, role: str) -> None:
    client = console.client()
    account = console.user([role])
    response = post_login(client, account.username, account.password)
    assert response.headers["location"].endswith("/staff/login/setup")
    # Half signed in is not signed in.
    assert client.get("/staff/").status_code == 303
    setup = client.get("/staff/login/setup")
    assert (
        "<svg" in setup.text and "style=" not in setup.text.split("<svg", 1)[1].split("</svg>")[0]
    )
    done = answer_code_step(client, account, "/staff/login/setup")
    assert done.status_code == 303
    assert client.get("/staff/").status_code == 200
    assert AuditAction.MFA_ENROLLED in actions(console, account.id)
    with transaction(console.factory) as db:
        user = db.get(StaffUser, account.id)
        assert user is not None and user.mfa_secret == account.mfa_secret

    # From now on every sign-in asks for the code.
    later = console.client()
    response = post_login(later, account.username, account.password)
    assert response.headers["location"].endswith("/staff/login/code")
    assert later.get("/staff/").status_code == 303
    assert answer_code_step(later, account, "/staff/login/code").status_code == 303
    assert later.get("/staff/").status_code == 200


def test_a_code_one_step_old_still_works(console: Console) -> None:
    """A phone clock a little behind: the previous step's code, never used, is accepted."""
    account = console.user(["supervisor"], mfa=True)
    client = console.client()
    post_login(client, account.username, account.password)
    page = client.get("/staff/login/code")
    if time.time() % STEP_SECONDS > STEP_SECONDS - 2:  # not a step turning mid-request
        time.sleep(2.5)
    previous = code_at(account, int(time.time()) // STEP_SECONDS - 1)
    response = client.post(
        "/staff/login/code", data={"code": previous, "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 303
    assert client.get("/staff/").status_code == 200


def _code_page(console: Console, account: Account) -> tuple[TestClient, str]:
    """A new browser past the password step, and the code page's CSRF token."""
    client = console.client()
    assert post_login(client, account.username, account.password).status_code == 303
    return client, csrf_from(client.get("/staff/login/code").text)


def _failed_reasons(console: Console, username: str) -> list[str]:
    with transaction(console.factory) as db:
        details = db.scalars(
            select(AuditEvent.details)
            .where(AuditEvent.object_id == username, AuditEvent.action == AuditAction.LOGIN_FAILED)
            .order_by(AuditEvent.seq)
        )
        return [d["reason"] for d in details]


def test_a_code_works_only_once(console: Console) -> None:
    account = console.user(["supervisor"], mfa=True)
    first, token = _code_page(console, account)
    code = totp(account)
    assert (
        first.post("/staff/login/code", data={"code": code, "csrf_token": token}).status_code == 303
    )

    # Someone who saw the code (over a shoulder, a phishing page) tries it at once.
    second, token = _code_page(console, account)
    reused = second.post("/staff/login/code", data={"code": code, "csrf_token": token})
    assert reused.status_code == 422
    assert CODE_REFUSED in reused.text and 'aria-describedby="mfa-code-hint mfa-code-error"' in (
        reused.text
    )
    assert second.get("/staff/").status_code == 303
    assert _failed_reasons(console, account.username) == ["code reused"]

    # A fresh code from the app still works in the same browser.
    fresh = second.post("/staff/login/code", data={"code": totp(account), "csrf_token": token})
    assert fresh.status_code == 303
    assert second.get("/staff/").status_code == 200


def test_reused_codes_count_toward_lockout(console: Console) -> None:
    account = console.user(["supervisor"], mfa=True)
    client, token = _code_page(console, account)
    code = totp(account)
    assert (
        client.post("/staff/login/code", data={"code": code, "csrf_token": token}).status_code
        == 303
    )
    other, token = _code_page(console, account)
    statuses = [
        other.post("/staff/login/code", data={"code": code, "csrf_token": token}).status_code
        for _ in range(MAX_FAILURES)
    ]
    assert statuses == [422] * (MAX_FAILURES - 1) + [429]
    assert AuditAction.ACCOUNT_LOCKED in actions(console, account.id)


def test_the_enrolment_code_cannot_sign_in_again(console: Console) -> None:
    client = console.client()
    account = console.user(["admin"])
    response = post_login(client, account.username, account.password)
    assert answer_code_step(client, account, response.headers["location"]).status_code == 303
    assert account.last_step is not None
    enrolment_code = code_at(account, account.last_step)
    other, token = _code_page(console, account)
    again = other.post("/staff/login/code", data={"code": enrolment_code, "csrf_token": token})
    assert again.status_code == 422 and CODE_REFUSED in again.text


def test_wrong_codes_count_toward_lockout(console: Console) -> None:
    client = console.client()
    account = console.user(["supervisor"])
    sign_in(client, account)
    other = console.client()
    post_login(other, account.username, account.password)
    page = other.get("/staff/login/code")
    token = csrf_from(page.text)
    statuses = []
    for _ in range(MAX_FAILURES):
        response = other.post("/staff/login/code", data={"code": "000000", "csrf_token": token})
        statuses.append(response.status_code)
    assert statuses[:-1] == [422] * (MAX_FAILURES - 1)
    assert statuses[-1] == 429 and LOCKED in response.text
    assert post_login(other, account.username, account.password).status_code == 429
    assert AuditAction.ACCOUNT_LOCKED in actions(console, account.id)


def test_mfa_is_optional_for_agents_but_asked_once_set_up(console: Console) -> None:
    client, account = signed_in(console, ["agent"])
    assert account.mfa_secret is None
    page = client.get("/staff/account/mfa")
    account.mfa_secret = secret_from(page.text)
    wrong = client.post(
        "/staff/account/mfa", data={"code": "123", "csrf_token": csrf_from(page.text)}
    )
    assert wrong.status_code == 422
    done = client.post(
        "/staff/account/mfa", data={"code": totp(account), "csrf_token": csrf_from(page.text)}
    )
    assert done.status_code == 200 and "set up" in done.text
    later = console.client()
    response = post_login(later, account.username, account.password)
    assert response.headers["location"].endswith("/staff/login/code")


def test_the_code_step_without_a_password_goes_back_to_sign_in(client: TestClient) -> None:
    for url in ("/staff/login/code", "/staff/login/setup"):
        response = client.get(url)
        assert response.status_code == 303
        assert response.headers["location"] == "/staff/login?expired=1"


def test_forms_need_the_csrf_token(console: Console) -> None:
    client, _ = signed_in(console, ["agent"])
    assert client.post("/staff/logout").status_code == 403
    assert client.get("/staff/").status_code == 200


def test_the_audit_chain_holds(console: Console, client: TestClient) -> None:
    account: Account = console.user(["agent"])
    post_login(client, account.username, "wrong-password")
    sign_in(client, account)
    post(client, "/staff/logout")
    assert chain_ok(console)


# -- choosing a new password -------------------------------------------------------------

PASSWORD_PAGE = "/staff/account/password"
NEW_PASSWORD = "my own long passphrase"


def _reset_by_admin(console: Console, account: Account, temporary: str) -> None:
    admin, _ = signed_in(console, ["admin"])
    reset = post(admin, f"/staff/admin/users/{account.id}/password", {"password": temporary})
    assert reset.status_code == 303
    account.password = temporary


def _password_changes(console: Console, user_id: int) -> list[dict[str, object]]:
    with transaction(console.factory) as db:
        found = db.scalars(
            select(AuditEvent.details).where(
                AuditEvent.action == AuditAction.PASSWORD_CHANGED,
                AuditEvent.object_id == str(user_id),
            )
        )
        return list(found)


def test_after_an_admin_reset_the_user_must_choose_a_new_password(console: Console) -> None:
    account = console.user(["agent"])
    _reset_by_admin(console, account, "temporary-password-9")
    client = console.client()
    response = post_login(client, account.username, account.password)
    assert response.headers["location"] == PASSWORD_PAGE
    page = client.get(PASSWORD_PAGE)
    assert page.status_code == 200 and "Choose a new password" in page.text
    assert "Current password" not in page.text  # they typed it a moment ago
    assert "Find anything" not in page.text and "Sign out" in page.text

    # Every other page sends them back here, htmx requests included.
    for url in ("/staff/", "/staff/search", "/staff/account/mfa", "/staff/admin/roles"):
        assert client.get(url).headers["location"] == PASSWORD_PAGE, url
    fragment = client.get("/staff/search", headers={"HX-Request": "true"})
    assert fragment.headers["HX-Redirect"] == PASSWORD_PAGE

    same = post(client, PASSWORD_PAGE, {"new": account.password, "confirm": account.password})
    assert same.status_code == 422 and "not the temporary one" in same.text
    short = post(client, PASSWORD_PAGE, {"new": "short", "confirm": "short"})
    assert short.status_code == 422 and "at least 12 characters" in short.text
    assert 'aria-describedby="password-new-hint password-new-error"' in short.text
    differ = post(client, PASSWORD_PAGE, {"new": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert differ.status_code == 422 and "Type the same new password twice." in differ.text
    assert client.get("/staff/").status_code == 303

    before = session_cookie(client)
    done = post(client, PASSWORD_PAGE, {"new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["location"].endswith(PASSWORD_PAGE)
    assert session_cookie(client) not in {None, before}
    assert "Your password is changed." in client.get(PASSWORD_PAGE).text
    assert client.get("/staff/").status_code == 200
    assert _password_changes(console, account.id) == [{"after_reset": True, "sessions": 1}]

    # The temporary password is gone; the new one signs straight in.
    assert post_login(console.client(), account.username, account.password).status_code == 422
    account.password = NEW_PASSWORD
    sign_in(console.client(), account)


def test_the_new_password_comes_after_the_code(console: Console) -> None:
    account = console.user(["supervisor"], mfa=True)
    _reset_by_admin(console, account, "temporary-password-8")
    client = console.client()
    response = post_login(client, account.username, account.password)
    assert response.headers["location"].endswith("/staff/login/code")
    coded = answer_code_step(client, account, "/staff/login/code")
    assert coded.headers["location"] == PASSWORD_PAGE


def test_sign_out_works_with_a_temporary_password(console: Console) -> None:
    account = console.user(["agent"])
    _reset_by_admin(console, account, "temporary-password-7")
    client = console.client()
    post_login(client, account.username, account.password)
    out = post(client, "/staff/logout")
    assert out.headers["location"] == "/staff/login?signed_out=1"
    assert client.get(PASSWORD_PAGE).headers["location"].startswith("/staff/login?next=")


def test_change_my_password(console: Console) -> None:
    client, account = signed_in(console, ["agent"])
    elsewhere = console.client()
    sign_in(elsewhere, account)
    home = client.get("/staff/")
    assert f'{PASSWORD_PAGE}">Change my password</a>' in home.text
    page = client.get(PASSWORD_PAGE)
    assert "Current password" in page.text and 'autocomplete="current-password"' in page.text

    empty = post(client, PASSWORD_PAGE, {"new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert empty.status_code == 422 and "Enter your current password." in empty.text
    wrong = post(
        client,
        PASSWORD_PAGE,
        {"current_password": "not-it", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert wrong.status_code == 422 and "Your current password is not right." in wrong.text
    assert _failed_reasons(console, account.username) == ["current password"]
    same = post(
        client,
        PASSWORD_PAGE,
        {
            "current_password": account.password,
            "new": account.password,
            "confirm": account.password,
        },
    )
    assert same.status_code == 422 and "different from your current one" in same.text

    done = post(
        client,
        PASSWORD_PAGE,
        {"current_password": account.password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert done.status_code == 303
    assert client.get("/staff/").status_code == 200
    assert elsewhere.get("/staff/").status_code == 303  # signed out on the other computer
    assert _password_changes(console, account.id) == [{"after_reset": False, "sessions": 2}]
    assert post_login(console.client(), account.username, account.password).status_code == 422
    account.password = NEW_PASSWORD
    sign_in(console.client(), account)
    assert chain_ok(console)


def test_a_password_change_keeps_the_session_time_limit(console: Console) -> None:
    client, account = signed_in(console, ["agent"])
    started = utcnow() - dt.timedelta(hours=7)
    with transaction(console.factory) as db:
        db.execute(
            update(WebSession)
            .where(WebSession.staff_user_id == account.id)
            .values(created_at=started)
        )
    data = {"current_password": account.password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert post(client, PASSWORD_PAGE, data).status_code == 303
    assert client.get("/staff/").status_code == 200
    with transaction(console.factory) as db:
        [kept] = db.scalars(
            select(WebSession.created_at).where(WebSession.staff_user_id == account.id)
        ).all()
    # A new session id, not a new eight hours.
    assert abs(kept - started) < dt.timedelta(seconds=1)


def test_changing_a_password_needs_the_csrf_token(console: Console) -> None:
    client, account = signed_in(console, ["agent"])
    data = {"current_password": account.password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post(PASSWORD_PAGE, data=data).status_code == 403
    assert post_login(console.client(), account.username, account.password).status_code == 303


def test_a_card_number_as_a_username_is_refused_and_never_kept(
    console: Console, client: TestClient
) -> None:
    answer = post_login(client, "4111 1111 1111 1111", "whatever-password")
    assert answer.status_code == 422
    assert "This looks like a card number." in answer.text
    assert "4111" not in answer.text  # not echoed back into the form
    with transaction(console.factory) as db:
        kept = db.scalars(select(AuditEvent.object_id).where(AuditEvent.object_id.like("%4111%")))
        assert list(kept) == []
