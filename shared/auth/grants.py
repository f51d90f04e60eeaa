"""Who may hand out what: nobody gives access they do not have themselves.

An administrator who holds `admin:users` or `admin:roles` but not everything could
otherwise make themselves (or a friend) a full administrator: give someone the `admin`
role, create a role with every permission, or reset the real administrator's password
and authenticator and sign in as them. So:

- a role may be given, or taken away, only by someone holding every permission in it
  (everywhere for a role given everywhere; in the department, or everywhere, for one
  limited to a department, where `admin:*` does not apply);
- a role may be created or changed only by someone holding, everywhere, every
  permission it holds before and after the change;
- another person's account (password, authenticator, status, roles) may be managed only
  by someone holding every permission that person holds.

Each check returns what is missing (empty: allowed), for the message to name it.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.auth.access import GLOBAL_ONLY_PREFIX, UserPermissions, can


def missing_to_grant(
    actor: UserPermissions, codes: Iterable[str], department_id: int | None = None
) -> list[str]:
    """The permissions of a role the actor lacks to give it (or take it away)."""
    if department_id is None:
        return sorted(set(codes) - actor.everywhere)
    # A department-limited assignment never grants administration (`access`).
    return sorted(
        code
        for code in set(codes)
        if not code.startswith(GLOBAL_ONLY_PREFIX) and not can(actor, code, department_id)
    )


def missing_to_define(actor: UserPermissions, *code_sets: Iterable[str]) -> list[str]:
    """The permissions a role holds (before or after a change) the actor lacks everywhere."""
    wanted = set().union(*(set(codes) for codes in code_sets))
    return sorted(wanted - actor.everywhere)


def missing_to_manage(actor: UserPermissions, target: UserPermissions) -> list[str]:
    """What another person holds that the actor does not: their account is not the actor's
    to manage."""
    return sorted(target.held() - actor.held())
