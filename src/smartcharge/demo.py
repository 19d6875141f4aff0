"""`smartcharge demo`: the whole system with demo accounts and two simulated chargers.

A newcomer sees both portals, and a charger on the console reacting to
"Start priority charge" within seconds.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from domain.actors import SYSTEM, Actor
from domain.errors import Conflict, NotFound
from domain.evse_limits import EvseLimits
from domain.evses import evse_id_for
from domain.exclusion_times import parse_windows
from domain.service import SmartCharging
from domain.users import user_id_for
from smartcharge.settings import Settings

OPERATOR = ("operator@demo.example", "demo-operator-pass")
HOME_USER = ("driver@demo.example", "demo-driver-pass")
CHARGER_KEY = "demo-charger-key-0001"
CHARGERS = (
    ("DEMO-CP-1", EvseLimits(max_current_a=16.0, phases=3)),
    ("DEMO-CP-2", EvseLimits(max_current_a=32.0, phases=1)),
)
EVENINGS = [
    {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "21:00"},
    {"weekdays": ["sat", "sun"], "start": "11:00", "end": "14:00"},
]


TIME_ZONE = "Europe/Amsterdam"


@dataclass(frozen=True)
class DemoWorld:
    group_id: UUID
    chargers: list[tuple[str, str]]
    time_zone: str = TIME_ZONE


def demo_settings(settings: Settings) -> Settings:
    """The demo keeps its data apart: its own folder (or schema, on a configured database)."""
    if settings.database_url:
        return settings.model_copy(update={"database_schema": "smartcharge_demo"})
    return settings.model_copy(update={"data_dir": Path(settings.data_dir) / "demo"})


def seed(service: SmartCharging) -> DemoWorld:
    """The demo accounts, chargers and group; a second run finds them and changes nothing."""
    operator = _operator(service)
    user_id = _home_user(service, operator)
    evse_ids = [_charger(service, operator, cp, limits) for cp, limits in CHARGERS]
    groups = [g for g in _groups_of(service, evse_ids) if g is not None]
    if groups:
        group_id = groups[0]
    else:
        group_id, _ = service.groups.create_group(
            name="Demo home",
            description="Two chargers in a driveway",
            time_zone=TIME_ZONE,
            actor=operator,
            home_user_id=user_id,
            evse_ids=evse_ids,
            exclusion_windows=parse_windows(EVENINGS),
        )
    return DemoWorld(group_id, [(cp, CHARGER_KEY) for cp, _ in CHARGERS])


def _operator(service: SmartCharging) -> Actor:
    try:
        return Actor.operator(service.accounts.add_operator(*OPERATOR, SYSTEM))
    except Conflict:
        return Actor.operator(user_id_for(OPERATOR[0]))


def _home_user(service: SmartCharging, operator: Actor) -> UUID:
    user_id = user_id_for(HOME_USER[0])
    try:
        if service.user(user_id).active:
            return user_id
    except NotFound:
        pass  # not invited yet
    user_id, token = service.accounts.invite_home_user(HOME_USER[0], operator)
    service.accounts.accept_invitation(token, HOME_USER[1])
    return user_id


def _charger(service: SmartCharging, operator: Actor, cp: str, limits: EvseLimits) -> UUID:
    try:
        evse_id, _ = service.evses.register_evse(cp, 1, operator, limits)
    except Conflict:
        evse_id = evse_id_for(cp, 1)
    if not service.chargers.verify_charger(cp, CHARGER_KEY):
        service.chargers.set_charger_password(cp, CHARGER_KEY, operator)
    return evse_id


def _groups_of(service: SmartCharging, evse_ids: list[UUID]) -> list[UUID | None]:
    return [service.evse(evse_id).group_id for evse_id in evse_ids]


def add_operator_command(settings: Settings) -> str:
    """The command that adds an operator to the database of the demo that `settings` (made
    by demo_settings) run: its own data folder, or its schema of a configured database."""
    if settings.database_url:
        schema = shlex.quote(settings.database_schema or "")
        return f"SMARTCHARGE_DATABASE_SCHEMA={schema} smartcharge operator add you@example.com"
    folder = shlex.quote(str(Path(settings.data_dir).resolve()))
    return f"smartcharge operator add --data-dir {folder} you@example.com"


def banner(world: DemoWorld, http: str, ocpp: str, settings: Settings) -> str:
    return f"""
  Smart charging demo is running.

  Consumer portal  {http}/          log in as {HOME_USER[0]} / {HOME_USER[1]}
  Operator portal  {http}/operator  log in as {OPERATOR[0]} / {OPERATOR[1]}
  API              {http}/docs
  Chargers         {", ".join(cp for cp, _ in world.chargers)} connected to {ocpp}/{{id}}
  Add an operator  {add_operator_command(settings)}

  Press "Start priority charge" in the consumer portal: the chargers below
  report their new limit within seconds (--verbose shows their OCPP messages).
  Ctrl+C stops the demo.
"""
