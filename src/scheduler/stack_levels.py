"""Which stack level and profile id each of an EVSE's profiles takes.

OCPP 1.6 §3.13.2: of the profiles valid at a time, the one at the highest stack level
prevails, and a profile sent at the stack level and purpose of an installed one replaces
it — even one whose validFrom lies ahead, leaving the charger without it until then. So
the exclusion profile of an offset period to come (valid from the zone's next UTC offset
change) needs a stack level of its own, beside the one of the period in force, whose
validTo is that change: their validities do not overlap, so whichever is valid prevails,
and a charger offline at the change switches there by itself.

From the bottom: the cover (0), the exclusion profiles, one *slot* per offset period, and
the priority profile above them all (a priority charge must prevail over every exclusion).
A period's slot is its number (utc_offsets.OffsetPeriod) modulo the number of slots, so it
keeps its id and level whenever it is worked out: the period in force, sent ahead of time
before, is not sent again, and a period new at the end takes the slot of the one that has
just run out.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.charging_profiles import EXCLUSION_ROLES, profile_id
from scheduler.profiles import ChargerLimits

COVER_STACK_LEVEL = 0
# The period in force and the two after it: a zone with DST changes twice a year, so a
# charger offline from any instant keeps the rule exactly for a year at least (its third
# change from then). More would hold more profiles on the charger and cost a call each when
# the windows change, for a charger offline longer than anyone leaves one.
EXCLUSION_SLOTS = len(EXCLUSION_ROLES)


@dataclass(frozen=True)
class StackLevels:
    cover: int
    exclusions: tuple[int, ...]  # one stack level per slot
    priority: int

    @property
    def exclusion(self) -> int:
        """The level of the first slot: the Absolute fallback's, and the only one with two
        stack levels."""
        return self.exclusions[0]

    @property
    def slots(self) -> int:
        return len(self.exclusions)

    def slot(self, period_number: int) -> int:
        return period_number % self.slots

    def exclusion_id(self, connector_id: int, slot: int) -> int:
        return profile_id(connector_id, EXCLUSION_ROLES[slot])


def stack_levels(charger: ChargerLimits) -> StackLevels:
    """Within ChargeProfileMaxStackLevel (OCPP 1.6 §9.4.1: also the most profiles the charger
    keeps per purpose, a level each from 0): as many slots as leave a level above them for
    the priority profile, at most EXCLUSION_SLOTS. With 0..2, one slot: the exclusion profile
    of the period in force only, and the cover when it ends. With only 0 and 1, the priority
    profile takes the exclusion profile's level while it runs.

    Within MaxChargingProfilesInstalled (§9.4.5) too: as many slots as leave room for the
    cover beside them, so that without a priority charge every slot is sent; while one runs
    the last period sent ahead gives way to it (profile_budget.py), and the others keep
    their ids and levels."""
    room = EXCLUSION_SLOTS if charger.max_profiles is None else max(1, charger.max_profiles - 1)
    if charger.max_stack_level < 2:
        return StackLevels(COVER_STACK_LEVEL, (1,), 1)
    slots = min(EXCLUSION_SLOTS, charger.max_stack_level - 1, room)
    return StackLevels(COVER_STACK_LEVEL, tuple(range(1, slots + 1)), slots + 1)
