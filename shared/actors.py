"""Who did something: every service call and audit event names its actor."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ActorType(StrEnum):
    STAFF = "staff"
    CITIZEN = "citizen"
    TERMINAL = "terminal"
    INTEGRATION = "integration"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    type: ActorType
    id: str
    source_ip: str | None = None
    staff_user_id: int | None = None
    terminal_id: int | None = None

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"


SYSTEM = Actor(ActorType.SYSTEM, "paydesk")
RECOVERY_JOB = Actor(ActorType.SYSTEM, "recovery-job")
