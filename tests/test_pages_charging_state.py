"""Both portals say what the charger applies now: the random delay moves the end of an
exclusion, and the group pages, the operator's list and "my groups" say so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from domain.actors import Actor
from domain.evses import evse_id_for
from mailcatcher import MailCatcher
from pages_kit import PageClient, evse, group, home_user, text
from scheduler.inputs import group_inputs
from scheduler.tou import desired_profiles, random_delay_seconds
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

pytestmark = pytest.mark.postgres

EVENING = {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "21:00"}
# Monday 21:03 in Amsterdam: the window is over, but not for a charger 7 minutes late.
NOW = datetime(2025, 3, 3, 21, 3, tzinfo=ZoneInfo("Europe/Amsterdam"))
LATE_CHARGER = "CP-148"  # its connector 1 has a random delay of 420 s


@pytest.fixture
def runtime(settings: Settings, database: Database) -> Iterator[Runtime]:
    running = Runtime(settings, database, clock=lambda: NOW).start()
    yield running
    running.close()


@pytest.fixture
def late_group(
    server: str, operator_client: httpx.Client, smtp_server: MailCatcher
) -> dict[str, object]:
    assert random_delay_seconds(evse_id_for(LATE_CHARGER, 1)) == 420
    home_user(server, operator_client, smtp_server, "lena@example.com", "lena-secret-1")
    return group(
        operator_client,
        "Lena's home",
        home_user_email="lena@example.com",
        evse_ids=[evse(operator_client, LATE_CHARGER)],
        exclusion_windows=[EVENING],
        random_delay=True,
    )


def test_with_random_delay_both_portals_say_charging_resumes_at_21_07(
    server: str, operator_credentials: tuple[str, str], late_group: dict[str, object]
) -> None:
    operator = PageClient(server)
    operator.log_in(*operator_credentials)
    lena = PageClient(server)
    lena.log_in("lena@example.com", "lena-secret-1", portal="")
    try:
        operator_page = text(operator.get(f"/operator/groups/{late_group['id']}"))
        operator_list = text(operator.get("/operator/groups"))
        my_groups = text(lena.get("/"))
        lenas_page = text(lena.get(f"/groups/{late_group['id']}"))
    finally:
        operator.close()
        lena.close()

    for page in (operator_page, my_groups, lenas_page):
        assert "No charging now (exclusion time)" in page
        assert "charging resumes at 21:07" in page
        assert "Charging allowed now" not in page
    assert "No charging now (exclusion time)" in operator_list
    assert "Now: No charging now (exclusion time); charging resumes at 21:07" in operator_page
    assert "Charging allowed" not in operator_list


STRICTER = "then safe but stricter until it is back online: never in an exclusion time"


def test_the_evse_pages_say_until_when_a_charger_offline_keeps_the_schedule(
    server: str,
    operator_credentials: tuple[str, str],
    late_group: dict[str, object],
    runtime: Runtime,
) -> None:
    """A Weekly profile ends at the change to summer time, 30 March 02:00 CET, and those of
    the two offset periods after it, sent ahead of time, at the one a year later; after
    that, a charger still offline follows the cover."""
    service, view = runtime.service, runtime.context.view
    group_id = late_group["id"]
    service.chargers.set_charger_password(LATE_CHARGER, "charger-secret-0001", Actor.system())
    assert view.wait_for(
        service.chargers.charger_connected(LATE_CHARGER, "gw", "ocpp1.6").position, 10
    )
    exactly = "it keeps to this schedule exactly until Sun 29 Mar 2026, 03:00 CEST"
    online = f"If it goes offline now, {exactly}, {STRICTER}"
    operator = PageClient(server)
    operator.log_in(*operator_credentials)
    lena = PageClient(server)
    lena.log_in("lena@example.com", "lena-secret-1", portal="")
    try:
        for page in (
            operator.get(f"/operator/groups/{group_id}"),
            operator.get(f"/operator/evses?q={LATE_CHARGER}"),
            lena.get(f"/groups/{group_id}"),
        ):
            assert online in text(page)

        # Offline, holding every profile it was sent: the same, from what it holds.
        evse_id = evse_id_for(LATE_CHARGER, 1)
        inputs = group_inputs(service, service.group(group_id))  # type: ignore[arg-type]
        profiles = desired_profiles(inputs.group, inputs.specs, inputs.limits, NOW)
        service.deliveries.desire_profiles(evse_id, profiles.profiles_for(evse_id), "test")
        delivery = service.delivery(evse_id)
        for profile in delivery.desired:
            service.deliveries.record_answer(
                evse_id, profile.profile_id, delivery.desired_version, "Accepted"
            )
        assert view.wait_for(service.chargers.charger_disconnected(LATE_CHARGER, "gw"), 10)
        offline = f"While offline, {exactly}, {STRICTER}"
        assert offline in text(operator.get(f"/operator/evses?q={LATE_CHARGER}"))
        assert offline in text(lena.get(f"/groups/{group_id}"))
    finally:
        operator.close()
        lena.close()
