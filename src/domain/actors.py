"""Who did something: every event records its actor, so the audit log can name them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from domain.errors import Forbidden
from domain.immutable import Immutable


class Role(StrEnum):
    OPERATOR = "operator"
    HOME_USER = "home_user"
    SYSTEM = "system"  # the scheduler, the gateway, the CLI acting on the service's own behalf


@dataclass(frozen=True)
class Actor(Immutable):
    user_id: UUID | None
    role: Role

    @classmethod
    def operator(cls, user_id: UUID) -> Actor:
        return cls(user_id, Role.OPERATOR)

    @classmethod
    def home_user(cls, user_id: UUID) -> Actor:
        return cls(user_id, Role.HOME_USER)

    @classmethod
    def system(cls) -> Actor:
        return cls(None, Role.SYSTEM)

    def to_dict(self) -> dict[str, str | None]:
        return {"user_id": str(self.user_id) if self.user_id else None, "role": self.role.value}

    @classmethod
    def from_dict(cls, data: dict[str, str | None]) -> Actor:
        user_id = data.get("user_id")
        return cls(UUID(user_id) if user_id else None, Role(str(data["role"])))


SYSTEM = Actor.system()


def require_operator(actor: Actor) -> None:
    """Operators (and the system acting for them) only; both portals share the commands."""
    if actor.role not in (Role.OPERATOR, Role.SYSTEM):
        raise Forbidden("only an operator may do this")
