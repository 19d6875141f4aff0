"""A service that has been running a while: thousands of households (a home user, her group,
her EVSE), seeded in seconds, for the browser stories to happen among. No tests here.

Each household's aggregates are made by their own commands (`User.register`,
`Invitation.issue`, `SmartChargingGroup.create`, `Evse.register`, `ChargePoint.connect`, ...)
and saved through the command service, a few hundred households per save: real events,
which the real read models then project. The slow parts are paid once: one password hash
for every active home user, one key hash for every charger.

They are seeded before the rest of the service starts (the read models follow meanwhile),
so its mail outbox, new on a store that has events, begins after them: the households'
invitations went out long ago, and the stories' own mails wait behind none of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from uuid import UUID

from aiosmtpd.controller import Controller
from eventsourcing.domain import Aggregate

from conftest import OCPP_CALL_TIMEOUT, free_port, serving, temporary_schema
from domain.actors import Actor, Role
from domain.charge_points import ChargePoint
from domain.evse_limits import EvseLimits
from domain.evses import Evse
from domain.groups import SmartChargingGroup
from domain.passwords import hash_machine_key, hash_password
from domain.service import SmartCharging
from domain.users import Invitation, User, new_invitation_token
from mailcatcher import MailCatcher
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

# First names the home users' addresses start with, so a search or an autocomplete of a few
# letters meets many of them (as "an" does in a real directory), not one.
NAMES = ("anna", "bob", "cleo", "david", "eva", "finn", "hanna", "jan", "lena", "mia")
ZONES = ("Europe/Amsterdam", "Europe/Amsterdam", "Europe/Berlin", "Europe/London")
HOME_USER_PASSWORD = "seeded-home-user-pass-1"
CHARGER_KEY = "seeded-charger-key-0001"
SEEDED_GATEWAY = "gateway-seeded"
OPERATOR = ("operator@example.com", "operator-password")
SYSTEM = Actor.system()


@dataclass(frozen=True)
class Households:
    """Household i: home user `email(i)` in group "Home i" (`name(i)`) with EVSE CP-i
    connector 1 for the first `grouped`, whose chargers are online but `offline`'s; the other
    EVSEs are free and their chargers never connected. The first `active` home users have
    set their password (HOME_USER_PASSWORD), the last `revoked` are revoked, the others are
    invited; `priority` groups have a priority charge running."""

    size: int = 2_000
    grouped: int = 100
    offline: tuple[int, ...] = (3, 40, 77)
    priority: tuple[int, ...] = (5, 6)
    active: int = 10
    revoked: int = 4
    per_save: int = 250

    @staticmethod
    def email(index: int) -> str:
        return f"{NAMES[index % len(NAMES)]}.{index:04}@example.com"

    @staticmethod
    def name(index: int) -> str:
        return f"Home {index:04}"

    @staticmethod
    def charger(index: int) -> str:
        return f"CP-{index:04}"

    @property
    def invited(self) -> int:
        return self.size - self.active - self.revoked


@dataclass
class Batch:
    """The aggregates of some households, saved together with their invitations' tokens."""

    aggregates: list[Aggregate] = field(default_factory=list)
    tokens: dict[UUID, str] = field(default_factory=dict)


class Seeder:
    def __init__(self, service: SmartCharging, households: Households):
        self.service = service
        self.households = households
        self.now = service.clock()
        self.password_hash = hash_password(HOME_USER_PASSWORD)
        self.key_hash = hash_machine_key(CHARGER_KEY)

    def seed(self) -> int:
        """Every household, a save per `per_save` of them; the last event's position."""
        position = 0
        size, step = self.households.size, self.households.per_save
        for start in range(0, size, step):
            batch = Batch()
            for index in range(start, min(start + step, size)):
                self.household(index, batch)
            recordings = self.service.save(*batch.aggregates, invitation_tokens=batch.tokens)
            position = recordings[-1].notification.id
        return position

    def household(self, index: int, batch: Batch) -> None:
        user = self.home_user(index, batch)
        h = self.households
        group = SmartChargingGroup.create(
            h.name(index), "", "consumer_tou", ZONES[index % len(ZONES)], SYSTEM
        )
        group.add_home_user(user.id, SYSTEM, invited=not user.active)
        evse = Evse.register(h.charger(index), 1, EvseLimits(16, 3), SYSTEM)
        batch.aggregates += [group, evse]
        if index < h.grouped:
            evse.assign_to(group.id, SYSTEM)
            group.add_evse(evse.id, SYSTEM)
            batch.aggregates.append(self.charger(index))
        if index in h.priority:
            group.start_priority_charge(self.now, self.now + timedelta(hours=2), SYSTEM)
        if index >= h.size - h.revoked:
            user.revoke(SYSTEM)

    def home_user(self, index: int, batch: Batch) -> User:
        """Invited, as `AccountCommands.invite_home_user` does; the first few accepted."""
        user = User.register(self.households.email(index), Role.HOME_USER, SYSTEM)
        token = new_invitation_token()
        expires_at = self.now + self.service.invitation_validity
        invitation = Invitation.issue(token, user.id, user.email, expires_at, SYSTEM)
        user.invite(invitation.id, SYSTEM)
        if index < self.households.active:
            herself = Actor.home_user(user.id)
            invitation.accept(self.now, herself)
            user.set_password(self.password_hash, herself)
        elif index >= self.households.size - self.households.revoked:
            invitation.withdraw(SYSTEM)
        batch.aggregates += [user, invitation]
        batch.tokens[invitation.id] = token
        return user

    def charger(self, index: int) -> ChargePoint:
        """Its key set and connected once; `offline`'s connection has ended since."""
        charger = ChargePoint.register(self.households.charger(index), self.key_hash, SYSTEM)
        charger.connect(SEEDED_GATEWAY, "ocpp1.6", self.now, SYSTEM)
        if index in self.households.offline:
            charger.disconnect(SEEDED_GATEWAY, self.now, SYSTEM)
        return charger


@dataclass
class SeededService:
    """The running service on a seeded schema: its runtime, the API's address, the SMTP
    server its mails go to, and an operator's login."""

    runtime: Runtime
    url: str
    smtp: MailCatcher
    households: Households
    operator: tuple[str, str] = OPERATOR
    seeding_seconds: float = 0.0


def scheduling(runtime: Runtime) -> None:
    """The scheduler running, as `serve` runs it (started by the first story that needs it)."""
    if not runtime.scheduler.running:
        runtime.start_scheduler()


@contextmanager
def smtp_catcher() -> Iterator[MailCatcher]:
    catcher = MailCatcher()
    catcher.port = free_port()
    controller = Controller(catcher, hostname="127.0.0.1", port=catcher.port)
    controller.start()
    try:
        yield catcher
    finally:
        controller.stop()


def settings_for(folder: Path, smtp: MailCatcher) -> Settings:
    """As conftest's `settings`."""
    return Settings(
        data_dir=folder,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        mail_sender="Smart charging <portal@example.com>",
        public_url="http://portal.example.com",
        ocpp_port=0,
        ocpp_call_timeout=OCPP_CALL_TIMEOUT,
    )


@contextmanager
def seeded_service(
    server: Database, folder: Path, households: Households | None = None
) -> Iterator[SeededService]:
    """The whole service on a schema of its own holding `households`, once the read models
    include them, served on a free port with an operator (OPERATOR); stopped and dropped
    afterwards."""
    households = households or Households()
    with temporary_schema(server) as database, smtp_catcher() as smtp:
        runtime = Runtime(settings_for(folder, smtp), database)
        try:
            began = time.monotonic()
            runtime.read_models.start()  # projecting while the later households are saved
            position = Seeder(runtime.service, households).seed()
            runtime.start()  # the mail outbox is made now, after the households' events
            assert runtime.context.view.wait_for(position, 60), "the read models lag behind"
            seconds = time.monotonic() - began
            runtime.service.accounts.add_operator(*OPERATOR, SYSTEM)
            with serving(runtime.api) as url:
                yield SeededService(runtime, url, smtp, households, seeding_seconds=seconds)
        finally:
            runtime.close()
