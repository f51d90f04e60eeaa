"""Managing staff accounts: every change is audited with the administrator as actor.

Anything that takes access away (deactivation, a password or code reset) also ends the
user's sessions, so it applies at once rather than when a session expires.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.audit import AuditAction
from shared.auth import login, passwords
from shared.models import Department, Role, RoleAssignment, StaffUser


@dataclass(frozen=True, slots=True)
class Grant:
    """One role assignment, for display."""

    assignment_id: int
    role: str
    department_id: int | None
    department: str | None


def grants_of(db: Session, user_id: int) -> list[Grant]:
    rows = db.execute(
        select(RoleAssignment.id, Role.name, Department.id, Department.name)
        .join(Role, Role.id == RoleAssignment.role_id)
        .outerjoin(Department, Department.id == RoleAssignment.department_id)
        .where(RoleAssignment.user_id == user_id)
        .order_by(Role.name, Department.name)
    ).all()
    return [Grant(a, r, d, n) for a, r, d, n in rows]


def unlock(db: Session, actor: Actor, user: StaffUser) -> None:
    login.clear_failures(db, user)
    audit.record(db, actor, AuditAction.STAFF_UNLOCKED, "staff_user", user.id)


def reset_password(db: Session, actor: Actor, user: StaffUser, password: str) -> None:
    """Set a temporary password chosen by the administrator (at least 12 characters).

    The administrator knows it, so the user must choose their own at next sign-in.
    """
    passwords.set_password(user, password)
    user.must_change_password = True
    ended = login.end_all_for_user(db, user.id)
    audit.record(
        db,
        actor,
        AuditAction.STAFF_PASSWORD_RESET,
        "staff_user",
        user.id,
        {"sessions": ended, "must_change": True},
    )


def reset_mfa(db: Session, actor: Actor, user: StaffUser) -> None:
    """Forget the user's authenticator (a lost phone): they enrol again at next sign-in."""
    user.mfa_secret = None
    # The steps of the old authenticator say nothing about the next one.
    user.mfa_last_step = None
    ended = login.end_all_for_user(db, user.id)
    audit.record(db, actor, AuditAction.STAFF_MFA_RESET, "staff_user", user.id, {"sessions": ended})


def set_active(db: Session, actor: Actor, user: StaffUser, active: bool) -> None:
    if user.active == active:
        return
    user.active = active
    details = {}
    if not active:
        details["sessions"] = login.end_all_for_user(db, user.id)
    action = AuditAction.STAFF_REACTIVATED if active else AuditAction.STAFF_DEACTIVATED
    audit.record(db, actor, action, "staff_user", user.id, details)


def assign_role(
    db: Session, actor: Actor, user: StaffUser, role: Role, department: Department | None
) -> bool:
    """Give `role` (limited to `department` if given); False if the user already has it."""
    department_id = department.id if department else None
    existing = db.scalars(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user.id,
            RoleAssignment.role_id == role.id,
            RoleAssignment.department_id.is_(None)
            if department_id is None
            else RoleAssignment.department_id == department_id,
        )
    ).first()
    if existing is not None:
        return False
    db.add(RoleAssignment(user_id=user.id, role_id=role.id, department_id=department_id))
    audit.record(
        db,
        actor,
        AuditAction.ROLE_ASSIGNED,
        "staff_user",
        user.id,
        {"role": role.name, "department": department.code if department else None},
    )
    db.flush()
    return True


def remove_role(db: Session, actor: Actor, assignment: RoleAssignment) -> None:
    department = db.get(Department, assignment.department_id) if assignment.department_id else None
    audit.record(
        db,
        actor,
        AuditAction.ROLE_REMOVED,
        "staff_user",
        assignment.user_id,
        {"role": assignment.role.name, "department": department.code if department else None},
    )
    db.delete(assignment)
    db.flush()
