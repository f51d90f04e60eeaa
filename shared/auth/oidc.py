"""Staff single sign-on with OpenID Connect: the authorization-code flow with PKCE.

Settings come from PAYDESK_OIDC_* (see `OidcSettings.from_env`). The IdP's groups become
Paydesk roles through the role map, at every sign-in: the IdP is the source of truth
for an SSO user's roles, and a user none of whose groups maps to a role is refused.
Users created here have no password, so they can only sign in through the IdP.

Permissions that need a second factor at local sign-in
(`Settings.mfa_required_permissions`) need one here too: when the mapped roles allow any
of them, the ID token must show that the IdP did multi-factor sign-in, by an `amr` value
in `PAYDESK_OIDC_MFA_AMR` or an `acr` in `PAYDESK_OIDC_MFA_ACR`, or the sign-in is
refused and nothing about the user changes.

A staff user is bound to one IdP identity, the ID token's (`iss`, `sub`), at their first
single sign-on, and later sign-ins find them by it, never by name: names can change
hands at the IdP, and a name is no proof of owning the Paydesk account that has it. So a
first sign-in whose name is already taken here, by a local account (it has a password)
or by a user bound to another identity, is refused: an administrator must link them, by
setting the account's `sso_issuer` and `sso_subject` in the database (no screen does it
yet; every account `paydesk staff create` or the admin pages make has a password, so
none is left open for a first sign-in to claim). The one exception is an unbound account
without a password, which only single sign-on made, before identities were bound
(migration 0013): the first sign-in with its name binds it, as sign-ins then matched it.

Wiring the two staff routes (one `OidcClient` per process: it caches discovery and keys).
The callback is a GET, and `page` rolls a GET's session back, so the sign-in is written
in a unit of work of its own::

    SSO = "staff_sso"
    sso = OidcClient(OidcSettings.from_env())   # e.g. on app.state, built in create_app

    @page
    @public
    def sso_start(request: Request, db: Session) -> Response:      # /staff/login/sso
        try:
            url, blob = sso.start(safe_next(request, request.query_params.get("next")))
        except OidcError as error:   # the IdP is not answering
            return _login_page(request, {"login-username": str(error)}, status_code=503)
        request.session[SSO] = blob
        return RedirectResponse(url, 303)

    @page
    @public
    def sso_callback(request: Request, db: Session) -> Response:   # /staff/login/sso/callback
        blob = request.session.pop(SSO, None)
        address = client_address(request)
        identity = None
        try:
            identity = sso.finish(dict(request.query_params), blob)
            with transaction(request.app.state.db) as tx:
                actor = Actor(ActorType.STAFF, identity.username, address)
                needs_mfa = settings_of(request).mfa_required_permissions
                user = oidc.provision_staff(tx, identity, actor, mfa_permissions=needs_mfa)
                login.record_login(tx, user, address, ["sso"])
        except OidcError as error:
            with transaction(request.app.state.db) as tx:
                oidc.record_refusal(tx, error, address, identity)
            return _login_page(request, {"login-username": str(error)}, status_code=403)
        session = session_of(request)
        session.kind, session.staff_user_id = SessionKind.STAFF, user.id
        rotate(request)
        return RedirectResponse(oidc.return_to(blob), 303)

Errors are `OidcError`s whose text can be shown as it is; `reason` is for the audit log.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet, KeySetSerialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor, ActorType
from shared.audit import AuditAction
from shared.auth import mfa
from shared.auth.access import permissions_of_roles
from shared.auth.staff_users import ensure_default_roles
from shared.card_numbers import scrub
from shared.i18n import N_
from shared.i18n import gettext_ as _
from shared.models import RoleAssignment, StaffUser

# Event names of their own until they join `AuditAction`.
SSO_LOGIN = "auth:sso:login"
SSO_LINKED = "auth:sso:linked"
# How long a started sign-in may take at the IdP.
START_VALID_FOR = 10 * 60
# Clock difference tolerated between us and the IdP when checking the ID token's times.
LEEWAY = 60
# The refusal when no group maps to a role (raised translated).
NO_ROLE = N_("Your account has no Paydesk role. Ask an administrator.")
# The refusal when a role needs multi-factor sign-in and the ID token does not show one.
MFA_NOT_SHOWN = N_(
    "Your Paydesk role needs a multi-factor sign-in, and the identity provider did not "
    "report one. Sign in again with your second factor, or ask an administrator."
)
# The refusal when a first sign-in's name belongs to an account not bound to this identity.
NAME_TAKEN = N_(
    "An account with this name already exists here. An administrator must link it to your "
    "single sign-on."
)
# RFC 8176's `mfa`: the IdP says it used more than one factor. Single methods such as
# `otp` or `hwk` are not in the default: alone they are a one-factor (passwordless) sign-in.
DEFAULT_MFA_AMR = ("mfa",)
# The longest `sub` OpenID Connect allows (Core 1.0, 2); the column is this long.
MAX_SUBJECT = 255
# What the staff_users columns hold (username, email, display_name).
MAX_USERNAME = 64
MAX_EMAIL = 320
MAX_NAME = 200
_BLOB_KEYS = ("state", "nonce", "code_verifier", "return_to", "started")


class OidcError(Exception):
    """A sign-in that cannot go on; `str()` is a plain message for the person signing in,
    translated where it is raised. `reason` (never translated) is what the audit records."""

    reason = "sso"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class OidcStateError(OidcError):
    """The callback is not the answer to this browser's sign-in (or it expired)."""

    reason = "state"


class OidcProviderError(OidcError):
    """The IdP answered with an error, e.g. `access_denied`, or could not be reached."""

    reason = "provider"


class OidcTokenError(OidcError):
    """The code exchange failed or the ID token did not check out."""

    reason = "token"


class OidcRoleError(OidcError):
    """No role for this user, or the role map names roles that do not exist."""

    reason = "role"


class OidcMfaError(OidcError):
    """The user's roles need multi-factor sign-in and the ID token does not show one."""

    reason = "mfa"


class OidcLinkError(OidcError):
    """A first sign-in's name is taken by an account not bound to this IdP identity."""

    reason = "link"


def _pairs(raw: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in raw.split(","):
        group, sep, role = item.partition("=")
        if sep and group.strip() and role.strip():
            pairs.append((group.strip(), role.strip()))
    return tuple(pairs)


def _words(raw: str) -> tuple[str, ...]:
    return tuple(raw.replace(",", " ").split())


@dataclass(frozen=True)
class OidcSettings:
    issuer: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    redirect_uri: str = ""
    scopes: tuple[str, ...] = ("openid", "profile", "email", "groups")
    groups_claim: str = "groups"
    # (IdP group, Paydesk role) pairs; a group may give several roles.
    role_map: tuple[tuple[str, str], ...] = ()
    # An ID token shows multi-factor sign-in by one of these `amr` values or this `acr`.
    mfa_amr: tuple[str, ...] = DEFAULT_MFA_AMR
    mfa_acr: tuple[str, ...] = ()
    # Asked of the IdP as `acr_values` (most wanted first) at every sign-in; none if empty.
    acr_values: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OidcSettings:
        env = os.environ if environ is None else environ
        return cls(
            issuer=env.get("PAYDESK_OIDC_ISSUER", "").rstrip("/"),
            client_id=env.get("PAYDESK_OIDC_CLIENT_ID", ""),
            client_secret=env.get("PAYDESK_OIDC_CLIENT_SECRET", ""),
            redirect_uri=env.get("PAYDESK_OIDC_REDIRECT_URI", ""),
            scopes=_words(env.get("PAYDESK_OIDC_SCOPES", "openid profile email groups")),
            groups_claim=env.get("PAYDESK_OIDC_GROUPS_CLAIM", "groups"),
            role_map=_pairs(env.get("PAYDESK_OIDC_ROLE_MAP", "")),
            mfa_amr=_words(env.get("PAYDESK_OIDC_MFA_AMR", ",".join(DEFAULT_MFA_AMR))),
            mfa_acr=_words(env.get("PAYDESK_OIDC_MFA_ACR", "")),
            acr_values=_words(env.get("PAYDESK_OIDC_ACR_VALUES", "")),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.client_id)

    def roles_for(self, groups: tuple[str, ...]) -> tuple[str, ...]:
        held = set(groups)
        return tuple(sorted({role for group, role in self.role_map if group in held}))

    def shows_mfa(self, amr: tuple[str, ...], acr: str | None) -> bool:
        """Whether an ID token's `amr` and `acr` show multi-factor sign-in."""
        return not set(amr).isdisjoint(self.mfa_amr) or (acr is not None and acr in self.mfa_acr)


@dataclass(frozen=True)
class OidcIdentity:
    """Who the IdP says signed in, how, and the Paydesk roles their groups map to."""

    issuer: str
    subject: str
    username: str
    email: str | None
    name: str
    groups: tuple[str, ...]
    roles: tuple[str, ...]
    amr: tuple[str, ...] = ()
    acr: str | None = None
    # Whether `amr` or `acr` shows multi-factor sign-in, by the settings' lists.
    multi_factor: bool = False


def return_to(blob: Mapping[str, Any] | None) -> str:
    """Where the person wanted to go when they started signing in."""
    return str((blob or {}).get("return_to") or "/staff/")


class OidcClient:
    """The relying party: builds the authorization request and checks the IdP's answer."""

    def __init__(self, settings: OidcSettings, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self.http = http or httpx.Client(timeout=10.0)
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def close(self) -> None:
        """Release the HTTP connections (the runtime calls this on shutdown)."""
        self.http.close()

    def metadata(self) -> dict[str, Any]:
        """The IdP's discovery document, fetched once."""
        if self._metadata is None:
            url = f"{self.settings.issuer}/.well-known/openid-configuration"
            document = self._get_json(url)
            if document.get("issuer") != self.settings.issuer:
                raise OidcProviderError(
                    _("The identity provider is not set up correctly. Ask an administrator."),
                    "discovery issuer mismatch",
                )
            self._metadata = document
        return self._metadata

    def start(self, return_to: str) -> tuple[str, dict[str, str]]:
        """The IdP's authorization URL, and what the caller keeps in the server-side session."""
        blob = {
            "state": generate_token(32),
            "nonce": generate_token(32),
            "code_verifier": secrets.token_urlsafe(48),
            "return_to": return_to,
            "started": str(int(time.time())),
        }
        url = prepare_grant_uri(
            self.metadata()["authorization_endpoint"],
            client_id=self.settings.client_id,
            response_type="code",
            redirect_uri=self.settings.redirect_uri,
            scope=" ".join(self.settings.scopes),
            state=blob["state"],
            nonce=blob["nonce"],
            code_challenge=create_s256_code_challenge(blob["code_verifier"]),
            code_challenge_method="S256",
            acr_values=" ".join(self.settings.acr_values) or None,  # None: not sent
        )
        return str(url), blob

    def finish(
        self, callback: str | Mapping[str, str], blob: Mapping[str, Any] | None
    ) -> OidcIdentity:
        """Check the callback (its URL or query parameters) against `blob`, from `start`."""
        params = (
            dict(parse_qsl(urlsplit(callback).query)) if isinstance(callback, str) else callback
        )
        pending = self._pending(blob)
        if "error" in params:
            raise _provider_refused(params["error"])
        # As bytes: the state comes back in a URL anyone can edit, maybe not in ASCII.
        state = str(params.get("state", "")).encode()
        if not hmac.compare_digest(state, str(pending["state"]).encode()):
            raise OidcStateError(
                _("This sign-in answer is not for this browser. Start signing in again."),
                "state mismatch",
            )
        metadata = self.metadata()
        # RFC 9207: an answer from another IdP (a mix-up attack) names that IdP.
        if "iss" in params and params["iss"] != metadata["issuer"]:
            raise OidcStateError(
                _("This sign-in answer came from another identity provider."), "issuer mismatch"
            )
        code = params.get("code")
        if not code:
            raise OidcProviderError(_("The identity provider sent no sign-in code."), "no code")
        token = self._exchange(metadata, str(code), pending["code_verifier"])
        claims = self._verified_claims(metadata, token, pending["nonce"])
        return self._identity(claims)

    # -- the steps ----------------------------------------------------------------------

    def _pending(self, blob: Mapping[str, Any] | None) -> dict[str, str]:
        if not blob or any(not isinstance(blob.get(k), str) for k in _BLOB_KEYS):
            raise OidcStateError(
                _("This sign-in has expired or was started elsewhere. Start signing in again."),
                "no pending sign-in",
            )
        pending = {k: str(blob[k]) for k in _BLOB_KEYS}
        if time.time() - int(pending["started"]) > START_VALID_FOR:
            raise OidcStateError(
                _("This sign-in took too long. Start signing in again."), "sign-in expired"
            )
        return pending

    def _exchange(self, metadata: Mapping[str, Any], code: str, verifier: str) -> dict[str, Any]:
        body = prepare_token_request(
            "authorization_code",
            code=code,
            redirect_uri=self.settings.redirect_uri,
            code_verifier=verifier,
        )
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        auth = ClientAuth(
            self.settings.client_id, self.settings.client_secret, _auth_method(metadata)
        )
        url, headers, body = auth.prepare("POST", metadata["token_endpoint"], headers, body)
        try:
            response = self.http.post(url, content=body, headers=headers)
            token = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise _unreachable(error) from error
        if response.status_code != 200 or not isinstance(token, dict) or "error" in token:
            error_code = token.get("error", response.status_code) if isinstance(token, dict) else ""
            raise OidcTokenError(
                _("The identity provider did not accept this sign-in. Start signing in again."),
                f"token endpoint: {error_code}",
            )
        if not isinstance(token.get("id_token"), str):
            raise OidcTokenError(
                _("The identity provider sent no ID token. Ask an administrator."), "no id_token"
            )
        return token

    def _verified_claims(
        self, metadata: Mapping[str, Any], token: Mapping[str, Any], nonce: str
    ) -> dict[str, Any]:
        algorithms = [
            a
            for a in metadata.get("id_token_signing_alg_values_supported", ["RS256"])
            if a != "none"
        ]
        try:
            try:
                decoded = jwt.decode(token["id_token"], self._key_set(), algorithms=algorithms)
            except InvalidKeyIdError:
                # The IdP may have rotated its keys since we fetched them.
                decoded = jwt.decode(
                    token["id_token"], self._key_set(refresh=True), algorithms=algorithms
                )
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {
                    "iss": {"essential": True, "value": metadata["issuer"]},
                    "aud": {"essential": True, "value": self.settings.client_id},
                },
                {
                    "nonce": nonce,
                    "client_id": self.settings.client_id,
                    "access_token": token.get("access_token"),
                },
            )
            claims.validate(leeway=LEEWAY)
        except JoseError as error:
            raise OidcTokenError(
                _("The identity provider's answer could not be verified. Start signing in again."),
                f"id_token: {error.error}: {error.description or ''}".strip(": "),
            ) from error
        return dict(claims)

    def _identity(self, claims: Mapping[str, Any]) -> OidcIdentity:
        email = claims.get("email")
        email = (
            email if isinstance(email, str) and claims.get("email_verified") is not False else None
        )
        username = claims.get("preferred_username") or email
        if not isinstance(username, str) or not username.strip():
            raise OidcTokenError(
                _("The identity provider did not say who you are. Ask an administrator."),
                "no preferred_username or email",
            )
        subject = str(claims["sub"])
        if not subject or len(subject) > MAX_SUBJECT:
            raise OidcTokenError(
                _("The identity provider did not say who you are. Ask an administrator."),
                "sub empty or too long",
            )
        groups = _strings(claims.get(self.settings.groups_claim))
        amr = _strings(claims.get("amr"))
        acr = claims.get("acr")
        acr = acr if isinstance(acr, str) and acr else None
        name = claims.get("name")
        username = username.strip().lower()
        if len(username) > MAX_USERNAME or (email is not None and len(email) > MAX_EMAIL):
            raise OidcTokenError(
                _("The identity provider did not say who you are. Ask an administrator."),
                "preferred_username or email too long",
            )
        if isinstance(name, str):
            name = name[:MAX_NAME]
        return OidcIdentity(
            issuer=str(claims["iss"]),
            subject=subject,
            username=username,
            email=email,
            name=name if isinstance(name, str) and name else username,
            groups=groups,
            roles=self.settings.roles_for(groups),
            amr=amr,
            acr=acr,
            multi_factor=self.settings.shows_mfa(amr, acr),
        )

    def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            document = self._get_json(self.metadata()["jwks_uri"])
            if not isinstance(document.get("keys"), list):
                raise OidcProviderError(
                    _("The identity provider is not set up correctly. Ask an administrator."),
                    "jwks without keys",
                )
            self._keys = KeySet.import_key_set(cast(KeySetSerialization, document))
        return self._keys

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self.http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise _unreachable(error) from error
        if not isinstance(document, dict):
            raise _unreachable(ValueError(f"{url} is not a JSON object"))
        return document


def _strings(claim: object) -> tuple[str, ...]:
    # A list claim, which some IdPs send as a single string when it has one item.
    if isinstance(claim, str):
        return (claim,) if claim else ()
    return tuple(map(str, claim)) if isinstance(claim, list) else ()


def _auth_method(metadata: Mapping[str, Any]) -> str:
    # The spec's default when the IdP does not say is client_secret_basic.
    supported = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    return "client_secret_basic" if "client_secret_basic" in supported else "client_secret_post"


def _provider_refused(error: str) -> OidcProviderError:
    if error in {"access_denied", "login_required", "consent_required", "interaction_required"}:
        message = _("Signing in was cancelled or refused at the identity provider.")
    else:
        message = _(
            "The identity provider could not sign you in. Try again, or ask an administrator."
        )
    return OidcProviderError(message, f"provider: {error}"[:100])


def _unreachable(error: Exception) -> OidcProviderError:
    return OidcProviderError(
        _("The identity provider is not answering. Try again in a few minutes."),
        f"unreachable: {type(error).__name__}",
    )


# -- provisioning ---------------------------------------------------------------------


def provision_staff(
    session: Session, identity: OidcIdentity, actor: Actor, *, mfa_permissions: Collection[str]
) -> StaffUser:
    """The staff user bound to this identity, created if new, with exactly the mapped roles.

    Raises `OidcRoleError` when no group maps to a role or a mapped role does not exist,
    `OidcMfaError` when the mapped roles allow a permission matching `mfa_permissions` (as
    `mfa.required` matches) and the IdP did not show multi-factor sign-in, `OidcLinkError`
    when a first sign-in's name is taken here, and `OidcError` for a deactivated account.
    A refusal changes nothing.
    """
    if not identity.roles:
        raise OidcRoleError(_(NO_ROLE), "no mapped role")
    known = ensure_default_roles(session)
    unknown = [r for r in identity.roles if r not in known]
    if unknown:
        raise OidcRoleError(
            _("Single sign-on is set up with a role Paydesk does not have. Ask an administrator."),
            f"unknown role(s): {', '.join(unknown)}",
        )
    # The mapped roles are exactly the ones the user will hold (`_set_roles`), everywhere.
    allowed = permissions_of_roles(session, identity.roles)
    if mfa.required(allowed, mfa_permissions) and not identity.multi_factor:
        shown = f"amr {' '.join(identity.amr) or '-'}, acr {identity.acr or '-'}"
        raise OidcMfaError(_(MFA_NOT_SHOWN), f"no multi-factor: {shown}"[:200])
    user = session.scalars(
        select(StaffUser).where(
            StaffUser.sso_issuer == identity.issuer, StaffUser.sso_subject == identity.subject
        )
    ).first()
    if user is None:
        user = _first_sign_in(session, identity, actor)
    if not user.active:
        raise OidcError(
            _("This account is not active. Ask an administrator to reactivate it."), "inactive"
        )
    # Whatever the IdP holds, a card number is never kept as a name (nor typed in one).
    user.display_name = scrub(identity.name)
    user.email = identity.email or user.email
    _set_roles(session, actor, user, identity, known)
    audit.record(
        session,
        actor,
        SSO_LOGIN,
        "staff_user",
        user.id,
        {
            "subject": identity.subject,
            "groups": list(identity.groups),
            "roles": list(identity.roles),
            "amr": list(identity.amr),
            "acr": identity.acr,
        },
    )
    session.flush()
    return user


def _first_sign_in(session: Session, identity: OidcIdentity, actor: Actor) -> StaffUser:
    """A new user bound to this identity, or the unbound SSO-only account with its name."""
    user = session.scalars(select(StaffUser).where(StaffUser.username == identity.username)).first()
    if user is None:
        user = StaffUser(
            username=identity.username,
            display_name=scrub(identity.name),
            email=identity.email,
            password_hash=None,
            sso_issuer=identity.issuer,
            sso_subject=identity.subject,
        )
        session.add(user)
        session.flush()
        audit.record(
            session,
            actor,
            AuditAction.STAFF_CREATED,
            "staff_user",
            user.username,
            {"roles": list(identity.roles), "source": "sso", "subject": identity.subject},
        )
        return user
    if user.sso_subject is not None:
        raise OidcLinkError(_(NAME_TAKEN), "username bound to another sso identity")
    if user.password_hash is not None:
        raise OidcLinkError(_(NAME_TAKEN), "username of a local account")
    if not user.active:
        # Bind nothing for a sign-in that is refused anyway.
        return user
    # Made by single sign-on before 0013 bound users to identities, when a sign-in found
    # its user by name: this one, the first since, binds it.
    user.sso_issuer, user.sso_subject = identity.issuer, identity.subject
    audit.record(
        session,
        actor,
        SSO_LINKED,
        "staff_user",
        user.id,
        {"issuer": identity.issuer, "subject": identity.subject},
    )
    return user


def _set_roles(
    session: Session,
    actor: Actor,
    user: StaffUser,
    identity: OidcIdentity,
    known: Mapping[str, Any],
) -> None:
    # The IdP decides: global assignments of the mapped roles, nothing else.
    wanted = {known[name].id: name for name in identity.roles}
    assignments = session.scalars(
        select(RoleAssignment).where(RoleAssignment.user_id == user.id)
    ).all()
    kept: set[int] = set()
    for assignment in assignments:
        if assignment.department_id is None and assignment.role_id in wanted:
            kept.add(assignment.role_id)
            continue
        audit.record(
            session,
            actor,
            AuditAction.ROLE_REMOVED,
            "staff_user",
            user.id,
            {
                "role": assignment.role.name,
                "department_id": assignment.department_id,
                "source": "sso",
            },
        )
        session.delete(assignment)
    for role_id, name in sorted(wanted.items(), key=lambda item: item[1]):
        if role_id in kept:
            continue
        session.add(RoleAssignment(user_id=user.id, role_id=role_id))
        audit.record(
            session,
            actor,
            AuditAction.ROLE_ASSIGNED,
            "staff_user",
            user.id,
            {"role": name, "department": None, "source": "sso"},
        )
    session.flush()


def record_refusal(
    session: Session,
    error: OidcError,
    source_ip: str | None = None,
    identity: OidcIdentity | None = None,
) -> None:
    """Audit a refused single sign-on as a failed login (with `identity` when the IdP said
    who it was: the name they asked for and who they are there)."""
    username = identity.username if identity is not None else "-"
    details = {"method": "sso", "reason": error.reason}
    if identity is not None:
        details |= {"issuer": identity.issuer, "subject": identity.subject}
    audit.record(
        session,
        Actor(ActorType.STAFF, username[:64], source_ip),
        AuditAction.LOGIN_FAILED,
        "staff_user",
        username,
        details,
    )
