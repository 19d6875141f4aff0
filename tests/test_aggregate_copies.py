"""A command works on a copy of the cached aggregate: what it changes, or half changes and
then fails, never reaches the cache. Copies share only what never changes (UUIDs, times,
text, frozen values); every list and dict is the copy's own."""

from __future__ import annotations

from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.actors import Actor
from domain.evse_limits import EvseLimits
from domain.exclusion_times import parse_windows
from domain.immutable import CopiedCheaply, copy_of, never_changed
from domain.service import SmartCharging

EVENINGS = parse_windows([{"weekdays": ["mon", "fri"], "start": "18:00", "end": "22:00"}])

leaves = st.one_of(
    st.integers(),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
    st.uuids(),
    st.datetimes(timezones=st.just(UTC)),
    st.timedeltas(max_value=timedelta(days=9)),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.integers(), st.text(max_size=3)), inner, max_size=4),
    ),
    max_leaves=12,
)


def containers(value: Any) -> list[Any]:
    """Every list and dict in `value`, itself included."""
    found: list[Any] = []
    if isinstance(value, list | dict):
        found.append(value)
    children = value.values() if isinstance(value, dict) else value
    if isinstance(value, list | dict | tuple):
        for child in children:
            found.extend(containers(child))
    return found


@given(values)
def test_a_copy_is_equal_and_owns_every_list_and_dict(value: Any) -> None:
    copied = copy_of(value, {})
    assert copied == value
    originals = {id(c) for c in containers(value)}
    assert not originals & {id(c) for c in containers(copied)}
    if never_changed(value):
        assert copied is value


def test_a_group_changed_in_a_copy_is_unchanged_in_the_application(
    app: SmartCharging, operator: Actor
) -> None:
    group_id, _ = app.groups.create_group(name="Home", time_zone="Europe/Berlin", actor=operator)
    evse_id = app.evses.register_evse("CP-1", 1, operator, EvseLimits(max_power_w=11_000))[0]
    app.evses.add_evse(group_id, evse_id, operator)
    app.groups.set_exclusion_times(group_id, EVENINGS, operator)

    copy = app.group(group_id)
    assert isinstance(copy, CopiedCheaply)
    before = dict(vars(copy))
    copy.evse_ids.append(UUID(int=7))  # as a command that fails half-way might
    copy.name = "Changed in memory"

    again = app.group(group_id)
    assert again.evse_ids == [evse_id]
    assert again.name == "Home"
    assert again.exclusion_windows == EVENINGS
    assert {k: v for k, v in vars(again).items() if k not in ("evse_ids", "name")} == {
        k: v for k, v in before.items() if k not in ("evse_ids", "name")
    }


def test_a_charger_copy_owns_its_connector_states(app: SmartCharging, operator: Actor) -> None:
    app.chargers.set_charger_password("CP-9", "a-long-charger-key-0001", operator)
    app.chargers.connector_status("CP-9", 1, "Faulted", "NoError")
    loaded = app.charge_point("CP-9")
    copied = deepcopy(loaded)
    copied.connector_status[2] = "Available"
    assert loaded.connector_status == {1: "Faulted"}
    assert copied.connector_status == {1: "Faulted", 2: "Available"}
    assert copied.charge_point_id == "CP-9" and copied.version == loaded.version
    assert copied.modified_on == loaded.modified_on and isinstance(copied.modified_on, datetime)


@pytest.mark.postgres
def test_loading_brings_a_copy_up_to_date_and_never_the_cached_aggregate_itself(
    stored_app: SmartCharging, stored_env: dict[str, str], stored_operator: Actor
) -> None:
    """Another thread may be copying the cached aggregate at that moment: changing it in
    place could give that thread half an event."""
    group_id, _ = stored_app.groups.create_group(
        name="Home", time_zone="Europe/Berlin", actor=stored_operator
    )
    stored_app.group(group_id)
    cached = stored_app.repository.cache.get(group_id)  # type: ignore[union-attr]
    other_process = SmartCharging(env=stored_env)
    try:
        other_process.groups.edit_group(group_id, stored_operator, name="Renamed elsewhere")
    finally:
        other_process.close()

    assert stored_app.group(group_id).name == "Renamed elsewhere"
    assert (cached.name, cached.version) == ("Home", 1)
    assert stored_app.repository.cache.get(group_id).name == "Renamed elsewhere"  # type: ignore[union-attr]
