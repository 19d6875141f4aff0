"""Invalid requests get a 4xx whose message names the field and the problem, and store nothing.

Then a schemathesis run: requests generated from the OpenAPI document, sent to
the live service as an operator and as a home user, never get a 5xx, and every
answer matches the schema that the document declares.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.ratelimit import LoginThrottle, ThrottleLimits
from conftest import serving
from domain.actors import Actor
from domain.evse_limits import EvseLimits
from service_kit import PASSWORD, bearer, home_user, new_group, running_service
from smartcharge.database import Database
from smartcharge.runtime import Runtime
from smartcharge.settings import Settings

pytestmark = pytest.mark.postgres

WINDOW = {"weekdays": ["mon"], "start": "17:00", "end": "21:00"}

# --- one service for the module: refused requests change nothing, so tests can share it ---


@dataclass
class Service:
    runtime: Runtime
    url: str
    operator_id: uuid.UUID
    operator: httpx.Client
    anna_id: uuid.UUID
    anna: httpx.Client


@pytest.fixture(scope="module")
def service(
    postgres_server: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    with running_service(postgres_server, tmp_path_factory.mktemp("bad-input")) as runtime:
        operator_id = runtime.service.accounts.add_operator(
            "operator@example.com", PASSWORD, Actor.system()
        )
        anna_id = home_user(runtime, "anna@example.com")
        with (
            serving(runtime.api) as url,
            bearer(runtime, url, operator_id) as operator,
            bearer(runtime, url, anna_id) as anna,
        ):
            yield Service(runtime, url, operator_id, operator, anna_id, anna)


_numbers = itertools.count(1)


@pytest.fixture
def n() -> int:
    """A number of this test's own, for names no other test uses."""
    return next(_numbers)


def group_of(runtime: Runtime, name: str, home_user_id: uuid.UUID | None = None) -> str:
    return str(new_group(runtime, name, home_user_id, [WINDOW]))


@pytest.fixture
def group_id(service: Service, n: int) -> str:
    """A group of Anna's, with one exclusion window."""
    return group_of(service.runtime, f"Anna's home {n}", service.anna_id)


@contextmanager
def nothing_recorded(runtime: Runtime) -> Iterator[None]:
    """The block's requests leave the event store (and so every read model) as it was."""
    before = runtime.service.recorder.max_notification_id()
    yield
    after = runtime.service.recorder.max_notification_id()
    assert after == before, f"a refused request recorded events {before} -> {after}"


def assert_refused(answer: httpx.Response, status: int, *words: str) -> None:
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, str), detail
    for word in words:
        assert word in detail, f"{word!r} not in {detail!r}"


def register_evse(client: httpx.Client, charge_point_id: str) -> httpx.Response:
    return client.post(
        "/api/operator/evses",
        json={"charge_point_id": charge_point_id, "connector_id": 1, "max_power_w": 11000},
    )


# --- malformed bodies, refused before they reach the domain -------------------------------

BAD_GROUPS = [
    pytest.param(
        {"name": "", "time_zone": "UTC"}, ["name", "at least 1 character"], id="empty name"
    ),
    pytest.param(
        {"name": "   ", "time_zone": "UTC"}, ["name", "must not be empty"], id="blank name"
    ),
    pytest.param(
        {"name": "Anna\x00s home", "time_zone": "UTC"},
        ["name", "control characters", r"\x00"],
        id="NUL in name",
    ),
    pytest.param(
        {"name": "Mars base", "time_zone": "Mars/Olympus"},
        ["time_zone", "'Mars/Olympus'", "IANA"],
        id="unknown time zone",
    ),
    pytest.param(
        {"name": "x", "time_zone": "UTC", "algorithm": "cheapest_hours"},
        ["algorithm", "consumer_tou", "'cheapest_hours'"],
        id="unknown algorithm",
    ),
    pytest.param(
        {"name": "Anna\x85s home", "time_zone": "UTC"},
        ["name", "control characters"],
        id="C1 control in name, refused by the domain itself",
    ),
    pytest.param({"time_zone": "UTC"}, ["name", "Field required"], id="missing name"),
    pytest.param(
        {"name": "x", "time_zone": "UTC", "colour": "red"}, ["colour", "not permitted"], id="extra"
    ),
    pytest.param(
        {"name": "x", "time_zone": "UTC", "exclusion_windows": [{**WINDOW, "start": "24:00"}]},
        ["exclusion_windows[0].start", "HH:MM", "'24:00'"],
        id="24:00 in a new group's window",
    ),
]


@pytest.mark.parametrize(("body", "words"), BAD_GROUPS)
def test_bad_new_group_is_refused_naming_the_field(
    service: Service, body: dict[str, Any], words: list[str]
) -> None:
    with nothing_recorded(service.runtime):
        answer = service.operator.post("/api/operator/groups", json=body)

    assert_refused(answer, 422, *words)


BAD_GROUP_EDITS = [
    pytest.param({"name": ""}, ["name", "at least 1 character"], id="empty name"),
    pytest.param({"name": "a\x00b"}, ["name", "control characters"], id="NUL in name"),
    pytest.param({"time_zone": "Mars/Olympus"}, ["time_zone", "'Mars/Olympus'"], id="time zone"),
    pytest.param({"description": "x" * 2001}, ["description", "at most 2000"], id="long text"),
    pytest.param(
        {"description": "gate \x9b1234"}, ["description", "control characters"], id="C1 control"
    ),
]


@pytest.mark.parametrize(("body", "words"), BAD_GROUP_EDITS)
def test_bad_group_edit_is_refused_and_the_group_kept(
    service: Service, group_id: str, body: dict[str, Any], words: list[str]
) -> None:
    path = f"/api/operator/groups/{group_id}"
    before = service.operator.get(path).json()

    with nothing_recorded(service.runtime):
        answer = service.operator.patch(path, json=body)

    assert_refused(answer, 422, *words)
    assert service.operator.get(path).json() == before


BAD_WINDOWS = [
    pytest.param(
        [{**WINDOW, "weekdays": ["mon", "funday"]}],
        ["windows[0].weekdays[1]", "'funday'", "'mon'"],
        id="unknown weekday",
    ),
    pytest.param([{**WINDOW, "end": "24:00"}], ["windows[0].end", "HH:MM", "'24:00'"], id="24:00"),
    pytest.param([{**WINDOW, "start": "7:5"}], ["windows[0].start", "HH:MM"], id="not HH:MM"),
    pytest.param([{**WINDOW, "weekdays": []}], ["windows[0].weekdays", "at least 1"], id="no day"),
    pytest.param([WINDOW] * 21, ["windows", "at most 20"], id="21 windows"),
    pytest.param(
        [{"weekdays": ["mon"], "start": "17:00"}], ["windows[0].end", "required"], id="no end"
    ),
]


@pytest.mark.parametrize("portal", ["operator", "me"])
@pytest.mark.parametrize(("windows", "words"), BAD_WINDOWS)
def test_bad_exclusion_times_are_refused_and_the_old_ones_kept(
    service: Service, group_id: str, portal: str, windows: list[Any], words: list[str]
) -> None:
    client = service.operator if portal == "operator" else service.anna
    path = f"/api/{portal}/groups/{group_id}/exclusion-times"

    with nothing_recorded(service.runtime):
        answer = client.put(path, json={"windows": windows})

    assert_refused(answer, 422, *words)
    assert client.get(path).json()["windows"] == [WINDOW]


BAD_PRIORITY_CHARGES = [
    pytest.param(
        {"duration_minutes": 0}, ["duration_minutes", "greater than or equal to 1"], id="0"
    ),
    pytest.param(
        {"duration_minutes": 10000}, ["duration_minutes", "less than or equal to 1440"], id="10000"
    ),
    pytest.param(
        {"duration_minutes": 30, "ends_at": "2100-01-01T00:00:00Z"},
        ["duration_minutes", "ends_at", "not both"],
        id="duration and end",
    ),
    pytest.param({"ends_at": "2001-01-01T00:00:00Z"}, ["ends_at", "future"], id="end in the past"),
    pytest.param(
        {"ends_at": "2100-01-01T00:00:00Z"}, ["ends_at", "at most 24 hours"], id="too late"
    ),
    pytest.param({"ends_at": "2100-01-01T00:00:00"}, ["ends_at", "UTC offset"], id="no offset"),
]


@pytest.mark.parametrize("portal", ["operator", "me"])
@pytest.mark.parametrize(("body", "words"), BAD_PRIORITY_CHARGES)
def test_bad_priority_charge_is_refused_and_none_starts(
    service: Service, group_id: str, portal: str, body: dict[str, Any], words: list[str]
) -> None:
    client = service.operator if portal == "operator" else service.anna

    with nothing_recorded(service.runtime):
        answer = client.post(f"/api/{portal}/groups/{group_id}/priority-charge", json=body)

    assert_refused(answer, 422, *words)
    assert client.get(f"/api/{portal}/groups/{group_id}").json()["priority_charge"] is None


def evse(**fields: Any) -> dict[str, Any]:
    return {"charge_point_id": "CP-1", "connector_id": 1, **fields}


BAD_EVSES = [
    pytest.param(
        evse(max_current_a=16, phases=3, max_power_w=11000),
        ["max_current_a", "max_power_w", "not both"],
        id="current and power",
    ),
    pytest.param(evse(max_current_a=16, phases=2), ["phases", "1 or 3", "(got 2)"], id="2 phases"),
    pytest.param(
        evse(charge_point_id="CP 1/a", max_power_w=11000),
        ["charge_point_id", "no spaces or slashes"],
        id="space in charger id",
    ),
    pytest.param(
        evse(connector_id=0, max_power_w=11000),
        ["connector_id", "greater than or equal to 1"],
        id="connector 0",
    ),
]


@pytest.mark.parametrize(("body", "words"), BAD_EVSES)
def test_bad_evse_is_refused_naming_the_field(
    service: Service, body: dict[str, Any], words: list[str]
) -> None:
    with nothing_recorded(service.runtime):
        answer = service.operator.post("/api/operator/evses", json=body)

    assert_refused(answer, 422, *words)


def test_malformed_uuid_in_the_path_is_refused_naming_the_parameter(service: Service) -> None:
    with nothing_recorded(service.runtime):
        operator_answer = service.operator.put(
            "/api/operator/groups/not-a-uuid/exclusion-times", json={"windows": []}
        )
        home_user_answer = service.anna.get("/api/me/groups/42")

    assert_refused(operator_answer, 422, "group_id", "UUID", "'not-a-uuid'")
    assert operator_answer.json()["errors"][0]["location"] == "path"
    assert_refused(home_user_answer, 422, "group_id", "UUID")


def test_malformed_json_is_refused(service: Service) -> None:
    with nothing_recorded(service.runtime):
        answer = service.operator.post(
            "/api/operator/groups",
            content=b'{"name": "Anna\'s home", "time_zone": ',
            headers={"Content-Type": "application/json"},
        )

    assert_refused(answer, 422, "body", "not valid JSON")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
def test_a_body_that_is_not_json_is_refused_with_415(
    service: Service, content_type: str | None
) -> None:
    request = service.operator.build_request(
        "POST", "/api/operator/groups", content=b'{"name": "x", "time_zone": "UTC"}'
    )
    request.headers.pop("Content-Type", None)
    if content_type:
        request.headers["Content-Type"] = content_type

    with nothing_recorded(service.runtime):
        answer = service.operator.send(request)

    assert_refused(answer, 415, "Content-Type", "application/json")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/x+json"])
def test_json_with_a_charset_or_a_json_suffix_is_json(
    service: Service, n: int, content_type: str
) -> None:
    answer = service.operator.post(
        "/api/operator/users",
        content=f'{{"email": "json-{n}@example.com"}}'.encode(),
        headers={"Content-Type": content_type},
    )

    assert answer.status_code == 201, answer.text


# --- conflicts with what is stored -------------------------------------------------------


def test_inviting_an_email_that_already_has_an_account_is_409(service: Service) -> None:
    with nothing_recorded(service.runtime):
        anna_again = service.operator.post(
            "/api/operator/users", json={"email": " ANNA@example.com "}
        )
        an_operator = service.operator.post(
            "/api/operator/users", json={"email": "operator@example.com"}
        )

    assert_refused(anna_again, 409, "email", "anna@example.com", "already has an account")
    assert_refused(an_operator, 409, "email", "operator@example.com")
    assert service.anna.get("/api/auth/me").status_code == 200


def test_registering_the_same_evse_twice_is_409(service: Service, n: int) -> None:
    first = register_evse(service.operator, f"CP-{n}")
    assert first.status_code == 201, first.text

    with nothing_recorded(service.runtime):
        second = register_evse(service.operator, f"CP-{n}")

    assert_refused(second, 409, f"CP-{n}", "already registered")
    assert service.operator.get(f"/api/operator/evses/{first.json()['id']}").json() == first.json()


def test_an_evse_in_another_group_is_refused_with_409(
    service: Service, group_id: str, n: int
) -> None:
    operator = service.operator
    evse_id = register_evse(operator, f"CP-{n}").json()["id"]
    added = operator.post(f"/api/operator/groups/{group_id}/evses", json={"evse_id": evse_id})
    assert added.status_code == 200, added.text
    other_id = group_of(service.runtime, f"Neighbour {n}")

    with nothing_recorded(service.runtime):
        moved = operator.post(f"/api/operator/groups/{other_id}/evses", json={"evse_id": evse_id})
        created = operator.post(
            "/api/operator/groups",
            json={"name": f"Thief {n}", "time_zone": "UTC", "evse_ids": [evse_id]},
        )

    assert_refused(moved, 409, evse_id, group_id)
    assert_refused(created, 409, evse_id, group_id)
    assert operator.get(f"/api/operator/evses/{evse_id}").json()["group_id"] == group_id
    assert operator.get(f"/api/operator/groups/{other_id}").json()["evse_ids"] == []


# --- logging in ----------------------------------------------------------------------------

FAILED_LOGINS_PER_EMAIL = 3  # per account from one address
FAILED_LOGINS_PER_ADDRESS = 5


@pytest.fixture
def login_limits(service: Service) -> Iterator[None]:
    """Low limits, counted from zero for this test."""
    before = service.runtime.context.throttle
    before.storage.reset()
    limits = ThrottleLimits(FAILED_LOGINS_PER_EMAIL, FAILED_LOGINS_PER_ADDRESS, max_delay=0.0)
    service.runtime.context.throttle = LoginThrottle(before.storage, limits)
    yield
    service.runtime.context.throttle = before
    before.storage.reset()


def attempt(service: Service, email: str, password: str) -> httpx.Response:
    return httpx.post(f"{service.url}/api/auth/login", json={"email": email, "password": password})


def test_wrong_password_and_unknown_email_get_the_same_401(
    service: Service, login_limits: None
) -> None:
    with nothing_recorded(service.runtime):
        wrong_password = attempt(service, "operator@example.com", "not-the-password")
        unknown_email = attempt(service, "nobody@example.com", "not-the-password")

    assert_refused(wrong_password, 401, "wrong e-mail or password")
    assert unknown_email.json() == wrong_password.json()


def test_failed_logins_for_one_email_are_limited_with_retry_after(
    service: Service, login_limits: None
) -> None:
    email = "operator@example.com"
    spellings = [email, email.upper(), f"  {email} "]  # one account, however it is typed
    for spelling in spellings[:FAILED_LOGINS_PER_EMAIL]:
        assert attempt(service, spelling, "guess").status_code == 401

    limited = attempt(service, email, PASSWORD)

    assert_refused(limited, 429, "too many failed logins")
    assert 0 < int(limited.headers["Retry-After"]) <= 15 * 60
    assert attempt(service, "anna@example.com", PASSWORD).status_code == 200


def test_failed_logins_from_one_address_are_limited_whatever_the_email(
    service: Service, login_limits: None
) -> None:
    for n in range(FAILED_LOGINS_PER_ADDRESS):
        assert attempt(service, f"guess-{n}@example.com", "guess").status_code == 401

    limited = attempt(service, "anna@example.com", PASSWORD)

    assert_refused(limited, 429, "too many failed logins")
    assert int(limited.headers["Retry-After"]) > 0


# --- generated requests, each run on a service of its own ------------------------------------

CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"database_pool_size": 4})


def fuzz(operation: Any, server: str, headers: dict[str, str], known: dict[str, str]) -> None:
    """Send generated requests to one operation: random ids, the ids of real things, and
    deliberately invalid requests."""
    path_parameters = {p.name: known[p.name] for p in operation.path_parameters if p.name in known}
    cases = st.one_of(
        operation.as_strategy(),
        operation.as_strategy(path_parameters=path_parameters),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
        *operation.schema.get_strategies_from_examples(operation),  # e.g. a real time zone
    )

    @hypothesis_settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=cases)
    def send(case: schemathesis.Case) -> None:
        response = case.call(base_url=server, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS, headers=headers)

    send()


def fuzz_all(server: str, token: str, known: dict[str, str]) -> list[str]:
    """Every operation's failures, so one run reports them all."""
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deleting goes last, or it would take the known group and EVSE from the other operations.
    operations.sort(key=lambda operation: operation.method.upper() == "DELETE")
    failures = []
    for operation in operations:
        if operation.path == "/api/auth/logout":
            continue  # it would end the session the other requests use
        try:
            fuzz(operation, server, headers, known)
        except (Exception, BaseExceptionGroup) as failure:  # reported together below
            failures.append(f"{operation.label}: {failure}")
    return failures


def test_generated_operator_requests_get_no_5xx_and_match_the_schema(
    runtime: Runtime, server: str
) -> None:
    operator_id = runtime.service.accounts.add_operator(
        "operator@example.com", PASSWORD, Actor.system()
    )
    anna_id = home_user(runtime, "anna@example.com")
    bob_id, token = runtime.service.accounts.invite_home_user("bob@example.com", Actor.system())
    evse_id, _ = runtime.service.evses.register_evse(
        "CP-FUZZ", 1, Actor.system(), EvseLimits(max_power_w=7400)
    )
    known = {
        "group_id": group_of(runtime, "Anna's home", anna_id),
        "user_id": str(bob_id),
        "evse_id": str(evse_id),
        "token": token,
        "charge_point_id": "CP-FUZZ",
    }

    failures = fuzz_all(server, runtime.sessions.open(operator_id, datetime.now(UTC)), known)

    assert not failures, "\n\n".join(failures)


def test_generated_home_user_requests_get_no_5xx_and_match_the_schema(
    runtime: Runtime, server: str
) -> None:
    anna_id = home_user(runtime, "anna@example.com")
    known = {"group_id": group_of(runtime, "Anna's home", anna_id)}

    failures = fuzz_all(server, runtime.sessions.open(anna_id, datetime.now(UTC)), known)

    assert not failures, "\n\n".join(failures)
