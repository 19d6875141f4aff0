"""The application every command module works on: loading, saving atomically, retrying.

The commands themselves live with their concept (`group_commands`, `membership`,
`evse_commands`, `account_commands`, `charger_commands`, `delivery_commands`); each
receives this application and uses only what is here. Saving several aggregates is one
atomic write with optimistic concurrency on their versions, so of two racing commands
exactly one is recorded; the other is run again on fresh state by `retrying`, where it
usually meets the domain rule (e.g. the one-user rule) and is refused in its words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording, Transcoder

from domain.charge_points import ChargePoint, charge_point_aggregate_id
from domain.delivery import ProfileDelivery, delivery_id_for
from domain.errors import ConcurrentChange, NotFound
from domain.evses import Evse
from domain.group_commit import GroupCommit
from domain.groups import SmartChargingGroup
from domain.transcodings import TRANSCODINGS
from domain.users import User

log = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)
B = TypeVar("B", bound=Aggregate)
Clock = Callable[[], datetime]

DEFAULT_PRIORITY_MINUTES = 120
DEFAULT_INVITATION_DAYS = 7
CONFLICT_RETRIES = 8


def utc_now() -> datetime:
    return datetime.now(UTC)


class CommandApplication(Application[UUID]):
    """Settings come from the environment dict (`env`), as for any eventsourcing application:
    `PRIORITY_CHARGE_DEFAULT_MINUTES`, `INVITATION_VALID_DAYS`, plus the persistence keys.
    """

    name = "SmartCharging"
    # Keep recently used aggregates in memory and read only their newer events
    # ("fast-forward") instead of replaying whole histories on every command.
    env = {"AGGREGATE_CACHE_MAXSIZE": "20000"}  # noqa: RUF012 (the library reads it so)

    def __init__(self, env: dict[str, str] | None = None, *, clock: Clock | None = None):
        super().__init__(env)
        self.clock: Clock = clock or utc_now
        self.priority_default = timedelta(
            minutes=int(self.env.get("PRIORITY_CHARGE_DEFAULT_MINUTES") or DEFAULT_PRIORITY_MINUTES)
        )
        self.invitation_validity = timedelta(
            days=float(self.env.get("INVITATION_VALID_DAYS") or DEFAULT_INVITATION_DAYS)
        )
        self.group_commit = GroupCommit(self.events.put)

    def register_transcodings(self, transcoder: Transcoder) -> None:
        super().register_transcodings(transcoder)  # type: ignore[arg-type]
        for transcoding in TRANSCODINGS:
            transcoder.register(transcoding)  # type: ignore[attr-defined]

    # --- loading -----------------------------------------------------------------------

    def load(self, kind: type[A], aggregate_id: UUID, what: str) -> A:
        """The aggregate of this kind, or NotFound naming `what`."""
        try:
            aggregate: object = self.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"{what} {aggregate_id} not found") from None
        if not isinstance(aggregate, kind):
            raise NotFound(f"{what} {aggregate_id} not found")
        return aggregate

    def get(self, aggregate_id: UUID) -> Any:
        """One aggregate as `load_many` loads it (a copy, up to date), or
        AggregateNotFoundError; what every command loads through."""
        found = self.load_many([aggregate_id])
        if aggregate_id not in found:
            raise AggregateNotFoundError(aggregate_id)
        return found[aggregate_id]

    def load_many(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
        """Many aggregates at once: from the cache, brought up to date, else from their
        events; those with no events are left out. Where the recorder can (PostgreSQL),
        their newer events come in one query instead of one each: the scheduler loads a
        few hundred groups' aggregates this way on a DST night. Each is a copy, safe to
        change and save.

        The cache is copy-on-write: an aggregate is brought up to date on a copy, and the
        copy replaces the cached one. The library's `repository.get` brings the cached
        aggregate itself up to date, under a lock per aggregate, so a copy taken by another
        thread meanwhile could hold half an event; and the lock's bookkeeping cost more
        than the copy (3 % of the server's time under 32 editing clients)."""
        wanted = list(dict.fromkeys(aggregate_ids))
        select_after = getattr(self.recorder, "select_events_after", None)
        cache = self.repository.cache
        if select_after is None or cache is None:
            return self._load_each(wanted)
        known: dict[UUID, Aggregate] = {}  # copies: the cached ones are never changed
        for aggregate_id in wanted:
            try:
                known[aggregate_id] = deepcopy(cache.get(aggregate_id))  # type: ignore[assignment]
            except KeyError:
                continue
        newer = select_after([(i, known[i].version if i in known else 0) for i in wanted])
        loaded: dict[UUID, Aggregate] = {}
        for aggregate_id in wanted:
            events = newer.get(aggregate_id)
            if not events:
                if aggregate_id in known:
                    loaded[aggregate_id] = known[aggregate_id]
                continue
            aggregate: Aggregate | None = known.get(aggregate_id)
            for stored in events:  # the library's project_aggregate, without its assert
                # (an isinstance check on a runtime Protocol, 3 % of a DST night's time)
                mutator: Any = self.mapper.to_domain_event(stored)
                aggregate = mutator.mutate(aggregate)
            if aggregate is None:
                continue
            loaded[aggregate_id] = aggregate
            cache.put(aggregate_id, deepcopy(aggregate))
        return loaded

    def _load_each(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
        loaded: dict[UUID, Aggregate] = {}
        for aggregate_id in aggregate_ids:
            try:
                loaded[aggregate_id] = self.repository.get(aggregate_id)
            except AggregateNotFoundError:
                continue
        return loaded

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def group(self, group_id: UUID) -> SmartChargingGroup:
        group = self.load(SmartChargingGroup, group_id, "group")
        if group.deleted:
            raise NotFound(f"group {group_id} not found")
        return group

    def evse(self, evse_id: UUID) -> Evse:
        evse = self.load(Evse, evse_id, "EVSE")
        if evse.deregistered:
            raise NotFound(f"EVSE {evse_id} not found")
        return evse

    def user(self, user_id: UUID) -> User:
        return self.load(User, user_id, "user")

    def charge_point(self, charge_point_id: str) -> ChargePoint:
        try:
            return self.get(charge_point_aggregate_id(charge_point_id))  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            raise NotFound(f"charger {charge_point_id} has no password set") from None

    def delivery(self, evse_id: UUID) -> ProfileDelivery:
        """The EVSE's profile delivery; a new (unsaved) one if nothing was recorded yet."""
        try:
            return self.get(delivery_id_for(evse_id))  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            evse = self.evse(evse_id)
            return ProfileDelivery(
                evse_id=evse.id,
                charge_point_id=evse.charge_point_id,
                connector_id=evse.connector_id,
            )

    # --- saving --------------------------------------------------------------------------

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """The library's `save` records here: every save goes through the group commit,
        in one transaction with the other commands waiting (see `domain.group_commit`)."""
        if processing_event.tracking is not None:  # a process application's; none here
            return super()._record(processing_event)
        events, beside = processing_event.events, processing_event.saved_kwargs
        if not events and not beside:
            return []
        recordings = self.group_commit.save(events, beside)
        # As the library's own `_record` does after a save.
        if self.repository.cache and not self.repository.fastforward:
            for aggregate_id, aggregate in processing_event.aggregates.items():
                self.repository.cache.put(aggregate_id, aggregate)
        return recordings

    def commit(self, *aggregates: Aggregate, **beside: Any) -> int | None:
        """Save atomically; return the notification position to wait for (read-your-writes).

        `beside` goes to the recorder with the events, in their transaction, never into an
        event (an invitation's one-time token, which only its mail may carry). The
        transaction may hold other commands' events too (group commit); the position is
        this command's own last event.
        """
        recordings: list[Recording[UUID]] = self.save(*aggregates, **beside)
        return recordings[-1].notification.id if recordings else None

    def retrying(self, command: Callable[[], T]) -> T:
        """Run a load-decide-save command again on fresh state when a racing save won."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                return command()
            except IntegrityError:
                log.debug("concurrent change, retry %d", attempt + 1)
        raise ConcurrentChange("too many concurrent changes to the same thing; try again")

    def change(self, load: Callable[[], A], change: Callable[[A], object]) -> int | None:
        """The common command: load one aggregate, change it, save it; retried on a race."""

        def command() -> int | None:
            aggregate = load()
            change(aggregate)
            return self.commit(aggregate)

        return self.retrying(command)

    def change_together(
        self, load: Callable[[], tuple[A, B]], change: Callable[[A, B], object]
    ) -> int | None:
        """`change` for two aggregates changed in one save (an EVSE and its group, an
        operator's account and the roster); retried on a race."""

        def command() -> int | None:
            first, second = load()
            change(first, second)
            return self.commit(first, second)

        return self.retrying(command)
