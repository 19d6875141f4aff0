"""Which of an EVSE's profiles a charger gets when it holds only so many.

OCPP 1.6 §9.4.5 MaxChargingProfilesInstalled (2.0.1: SmartChargingCtrlr.Entries for
ChargingProfiles, its maximum) bounds the profiles a charger keeps installed; one more is
refused, and a refused exclusion or cover profile is a charger free to charge in an
exclusion once it is offline. So the algorithm sends no more than that per connector (the
limit is the charger's; a home charger has one connector), and what gives way first is
what only makes the offline charger more exact, never what keeps it out of an exclusion:

1. the exclusion profiles sent ahead for the offset periods to come, the last first (a
   charger offline at a change then falls back on the cover: safe, stricter);
2. the exclusion profile of the period in force while a priority charge runs: the
   priority takes its place, with the cover beneath once the charge ends by itself (as on
   a charger with stack levels 0 and 1 only);
3. the priority charge itself, where even the priority and the cover do not fit (one
   profile): alone, it would leave an offline charger free to charge in every exclusion
   after it ends. The exclusion profile is then sent alone if it never ends, else the
   cover alone (never in an exclusion, stricter than the rule).

The cover is never left out where the last exclusion profile kept can end while there is
something to exclude. Where the charger did not say (None), everything is sent, as before
the limit was read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from domain.charging_profiles import ChargingProfile


@dataclass(frozen=True)
class Fitted:
    """What the charger gets: the exclusion profiles kept (of the period in force first),
    the priority profile if it is kept, and whether the cover goes beneath."""

    exclusions: tuple[ChargingProfile, ...]
    priority: ChargingProfile | None
    cover: bool

    @property
    def count(self) -> int:
        return len(self.exclusions) + (self.priority is not None) + self.cover


def fitted(
    exclusions: tuple[ChargingProfile, ...],
    priority: ChargingProfile | None,
    displaced: bool,
    excluding: bool,
    budget: int | None,
) -> Fitted:
    """The first of the choices (`_choices`, in the module's order) that fits `budget`.

    `displaced`: the priority takes the exclusion profiles' stack level (a charger with
    levels 0 and 1 only), so they are not sent while it runs. `excluding`: the group's
    windows exclude some time (else a charger holding nothing may charge, as the rule says).
    """
    choices = list(_choices(exclusions, priority, displaced, excluding))
    if budget is None:
        return choices[0]
    for choice in choices:
        if choice.count <= budget:
            return choice
    return choices[-1]  # the cover alone, or the exclusion profile that never ends: one


def _choices(
    exclusions: tuple[ChargingProfile, ...],
    priority: ChargingProfile | None,
    displaced: bool,
    excluding: bool,
) -> Iterator[Fitted]:
    if priority is not None:
        kept = () if displaced else exclusions
        for count in range(len(kept), -1, -1):
            yield _with_cover(kept[:count], priority, excluding)
    for count in range(len(exclusions), -1, -1):
        yield _with_cover(exclusions[:count], None, excluding)


def _with_cover(
    exclusions: tuple[ChargingProfile, ...], priority: ChargingProfile | None, excluding: bool
) -> Fitted:
    """The cover goes beneath where the last exclusion profile can end (validTo), or none is
    sent, while there is something to exclude."""
    ends = not exclusions or exclusions[-1].valid_to is not None
    return Fitted(exclusions, priority, excluding and ends)
