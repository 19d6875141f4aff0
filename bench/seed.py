"""Filling a fresh database through the real command service, as the portals would."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from domain.actors import SYSTEM, Actor
from domain.evse_limits import EvseLimits
from domain.service import SmartCharging

OPERATOR = ("operator@bench.example", "operator-password")
USER_PASSWORD = "home-user-password"


def operator(app: SmartCharging) -> Actor:
    return Actor.operator(app.accounts.add_operator(*OPERATOR, SYSTEM))


def home_users_with_groups(
    app: SmartCharging, actor: Actor, count: int, *, with_password: bool, prefix: str = "user"
) -> list[tuple[str, UUID]]:
    """`count` home users, each in a group of his own with one EVSE; (e-mail, group id)."""

    def one(index: int) -> tuple[str, UUID]:
        email = f"{prefix}{index}@bench.example"
        user_id, token = app.accounts.invite_home_user(email, actor)
        if with_password:
            app.accounts.accept_invitation(token, USER_PASSWORD)
        evse_id, _ = app.evses.register_evse(
            f"{prefix.upper()}-{index}", 1, actor, EvseLimits(max_current_a=16, phases=3)
        )
        group_id, _ = app.groups.create_group(
            name=f"Home {prefix} {index}",
            time_zone="Europe/Amsterdam",
            actor=actor,
            home_user_id=user_id,
            evse_ids=[evse_id],
        )
        return email, group_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))
