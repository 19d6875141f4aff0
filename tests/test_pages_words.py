"""Plain words on the pages: EVSE form refusals without field names or Python values, a home
user's charger status without protocols or profiles, and local times that name their zone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.pages.formatting import clock
from api.pages.group_state import evse_status
from mailcatcher import MailCatcher
from pages_kit import PageClient, error_text, evse, group, home_user, text

NOW = datetime(2025, 3, 3, 16, 0, tzinfo=UTC)  # 17:00 in Amsterdam
# What a refusal must not show: field names, Python's None, floats in exponent form.
CODE = re.compile(r"max_current_a|max_power_w|None|\de\+\d|_")


def row(**status: Any) -> dict[str, Any]:
    return {
        "id": "e1",
        "charge_point_id": "CP-1",
        "connector_id": 1,
        "max_current_a": 16,
        "phases": 3,
        "max_power_w": None,
        "status": {"connected": False, "desired_profiles": [], "answers": {}, **status},
    }


ONLINE = {
    "connected": True,
    "protocol": "ocpp1.6",
    "connector": {"status": "SuspendedEVSE"},
    "transaction_id": "42",
    "session_started_at": datetime(2025, 3, 3, 15, 5, tzinfo=UTC),
    "desired_profiles": [{"profile_id": 1}, {"profile_id": 2}],
    "answers": {},
}


def test_the_operator_reads_the_protocol_and_the_connector_status_as_the_charger_says() -> None:
    status = evse_status(row(**ONLINE), ZoneInfo("Europe/Amsterdam"), NOW)

    assert status.connection == (
        "Online (OCPP 1.6), connector SuspendedEVSE (car plugged in, held by the charger)"
    )
    assert status.session == "Charging session since 16:05 CET"
    assert status.profile == "2 profiles sent, waiting for the charger's answer"


def test_the_home_user_reads_no_protocol_and_no_profiles() -> None:
    online = evse_status(row(**ONLINE), ZoneInfo("Europe/Amsterdam"), NOW)
    offline = evse_status(
        row(desired_profiles=[{"profile_id": 1}, {"profile_id": 2}]), ZoneInfo("UTC"), NOW
    )

    assert online.home_connection == "Online, car plugged in, held by the charger"
    assert online.schedule == "Sending your latest schedule to your charger"
    assert offline.home_connection == "Offline"
    assert offline.schedule == "Your charger gets your latest schedule when it is back online"
    for words in (online.home_connection, online.schedule, offline.schedule):
        assert "ocpp" not in words.lower() and "profile" not in words


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Europe/Amsterdam", "17:00 CET"),
        ("America/New_York", "11:00 EST"),
        ("Asia/Kolkata", "21:30 IST"),
        ("UTC", "16:00 UTC"),
    ],
)
def test_local_times_say_their_zone(zone: str, expected: str) -> None:
    assert clock(NOW, zone, NOW) == expected
    assert clock(NOW, zone, NOW, with_zone=False) == expected.split()[0]


# --- the pages ------------------------------------------------------------------------------


@pytest.fixture
def operator(server: str, operator_credentials: tuple[str, str]) -> Iterator[PageClient]:
    client = PageClient(server)
    client.log_in(*operator_credentials)
    yield client
    client.close()


REGISTER = {
    "charge_point_id": "CP-W",
    "connector_id": "1",
    "max_current_a": "",
    "phases": "",
    "max_power_w": "",
}


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {},
            "Give the connector's maximum current in amperes (with its phases),"
            " or its maximum power in watts.",
        ),
        (
            {"max_current_a": "16", "phases": "3", "max_power_w": "11000"},
            "Give the maximum current or the maximum power, not both",
        ),
        ({"max_current_a": "16"}, "Choose 1 or 3 phases for the maximum current."),
        ({"max_current_a": "16", "phases": "2"}, "Phases: choose 1 phase or 3 phases."),
        ({"max_current_a": "0", "phases": "1"}, "Maximum current: give more than 0 A"),
        ({"max_power_w": "1e9"}, "Maximum power: “1e9” is not a number."),
        ({"max_power_w": "5000000"}, "at most 1,000,000 W."),
    ],
)
def test_evse_form_refusals_speak_plain_words(
    operator: PageClient, fields: dict[str, str], message: str
) -> None:
    operator.get("/operator/evses")

    answer = operator.post("/operator/evses", {**REGISTER, **fields})

    assert answer.status_code == 422
    assert message in error_text(answer)
    assert not CODE.search(error_text(answer)), error_text(answer)


@pytest.mark.postgres
def test_the_evse_registry_shows_an_evse_in_its_groups_time_zone(
    operator: PageClient, operator_client: httpx.Client
) -> None:
    evse_id = evse(operator_client, "CP-ZONE")
    group(operator_client, "Kolkata", time_zone="Asia/Kolkata", evse_ids=[evse_id])

    page = operator.get("/operator/evses")

    assert "CP-ZONE / connector 1" in text(page)
    assert "Offline · No charging session" in text(page)


@pytest.mark.postgres
def test_the_home_user_reads_plain_words_on_the_group_page(
    server: str, operator_client: httpx.Client, smtp_server: MailCatcher
) -> None:
    home_user(server, operator_client, smtp_server, "ida@example.com", "ida-secret-quill-1")
    made = group(
        operator_client,
        "Ida's",
        home_user_email="ida@example.com",
        evse_ids=[evse(operator_client, "CP-IDA")],
        exclusion_windows=[{"weekdays": ["mon"], "start": "17:00", "end": "21:00"}],
    )
    ida = PageClient(server)
    ida.log_in("ida@example.com", "ida-secret-quill-1", portal="")

    page = text(ida.get(f"/groups/{made['id']}"))
    ida.close()

    assert "Offline · No charging session" in page
    chargers = page[page.index("Your chargers") :]
    assert "profile" not in chargers.lower() and "ocpp" not in chargers.lower()
    assert re.search(r"(until|resumes at) (\w{3} )?\d\d:\d\d (CET|CEST)", page), page
