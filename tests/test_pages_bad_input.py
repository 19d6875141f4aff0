"""Bad values typed into the portals' forms: the form comes back with a 4xx and says in words
what is wrong, and nothing is stored. The same treatment `test_api_bad_input.py` gives the
JSON API, for every form of both portals and the pages' query parameters.

Starts with the story that made this matter: an operator typed connector id 1000000000000
into the EVSE form, the event was recorded, and the read models failed on it for good.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from api.ratelimit import LoginThrottle, ThrottleLimits
from conftest import serving
from domain.actors import Actor
from domain.errors import InvalidInput
from domain.groups import validate_description, validate_name, validate_time_zone
from domain_strategies import typed_text
from pages_kit import PageClient, error_text, text
from service_kit import PASSWORD, home_user, new_group, running_service
from smartcharge.database import Database
from smartcharge.runtime import Runtime

pytestmark = pytest.mark.postgres

KB16 = "x" * 16_000


@dataclass
class Portals:
    runtime: Runtime
    url: str
    operator: PageClient
    anna: PageClient
    group_id: str
    invitation_token: str


@pytest.fixture(scope="module")
def portals(
    postgres_server: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Portals]:
    """One service for the module (refused forms change nothing), both portals logged in,
    Anna's group with one exclusion window, and Bob's open invitation."""
    with running_service(postgres_server, tmp_path_factory.mktemp("bad-forms")) as runtime:
        unlimited = ThrottleLimits(10_000, 10_000, delay_after=10_000)
        runtime.context.throttle = LoginThrottle(runtime.context.throttle.storage, unlimited)
        runtime.service.accounts.add_operator("operator@example.com", PASSWORD, Actor.system())
        group_id = new_group(runtime, "Anna's home", home_user(runtime, "anna@example.com"))
        _, token = runtime.service.accounts.invite_home_user("bob@example.com", Actor.system())
        assert runtime.context.view.wait_for(runtime.service.recorder.max_notification_id(), 10)
        with serving(runtime.api) as url:
            operator, anna = PageClient(url), PageClient(url)
            operator.log_in("operator@example.com", PASSWORD)
            anna.log_in("anna@example.com", PASSWORD, portal="")
            yield Portals(runtime, url, operator, anna, str(group_id), token)
            operator.close()
            anna.close()


def stored(runtime: Runtime) -> tuple[Any, ...]:
    """The event log's end and what the read models hold: what a refusal must leave alone."""
    queries = runtime.context.queries
    return (
        runtime.service.recorder.max_notification_id(),
        queries.groups("", 1000, 0),
        queries.users("home_user", "", 1000, 0),
        queries.users("operator", "", 1000, 0),
        queries.evses(),
    )


@contextmanager
def nothing_stored(runtime: Runtime) -> Iterator[None]:
    before = stored(runtime)
    yield
    assert stored(runtime) == before, "a refused form changed what is stored"


def assert_form_again(answer: httpx.Response, status: int, again: str, *words: str) -> None:
    """A page (not JSON) with the status, the form it came from, and the words in its error."""
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    assert answer.headers["content-type"].startswith("text/html"), answer.text[:300]
    assert again in answer.text, f"the form ({again}) is not shown again"
    message = error_text(answer)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


# --- the story ----------------------------------------------------------------------------


def test_a_13_digit_connector_id_is_refused_and_the_service_keeps_working(
    portals: Portals,
) -> None:
    operator = portals.operator
    operator.get("/operator/evses")
    typed = {
        "charge_point_id": "CP-STORY",
        "connector_id": "1000000000000",
        "max_current_a": "16",
        "phases": "3",
        "max_power_w": "",
    }

    with nothing_stored(portals.runtime):
        answer = operator.post("/operator/evses", typed)

    assert_form_again(answer, 422, 'action="/operator/evses"', "Connector", "between 1 and 1000")
    assert 'value="1000000000000"' in answer.text  # what was typed, to correct it
    registered = operator.post("/operator/evses", {**typed, "connector_id": "1"})
    assert "CP-STORY connector 1 is registered." in text(operator.follow(registered))
    assert "CP-STORY / connector 1" in text(operator.get("/operator/evses"))
    operator.get("/operator/users")
    invited = operator.post("/operator/users", {"email": "carla@example.com"})
    assert "carla@example.com invited" in text(operator.follow(invited))


# --- every form, bad values ---------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """A form as its page sends it, filled in well; a case changes some of its fields."""

    portal: str  # "operator" or "anna": who is logged in
    page: str  # the page the form is on ({group} is the group's id)
    action: str  # where it posts
    again: str  # what shows that the form is on the answer again
    fields: dict[str, Any]


EVSE = Form(
    "operator",
    "/operator/evses",
    "/operator/evses",
    'action="/operator/evses"',
    {
        "charge_point_id": "CP-BAD",
        "connector_id": "1",
        "max_current_a": "16",
        "phases": "3",
        "max_power_w": "",
    },
)
CHARGER_PASSWORD = Form(
    "operator",
    "/operator/evses",
    "/operator/chargers/password",
    'action="/operator/chargers/password"',
    {"charge_point_id": "CP-BAD", "password": "a-charger-password-1"},
)
INVITE = Form("operator", "/operator/users", "/operator/users", 'action="/operator/users"', {})
DETAILS = Form(
    "operator",
    "/operator/groups/{group}",
    "/operator/groups/{group}/details",
    'action="/operator/groups/{group}/details"',
    {"name": "Anna's home", "description": "", "time_zone": "Europe/Amsterdam"},
)
HOME_USER = Form(
    "operator",
    "/operator/groups/{group}",
    "/operator/groups/{group}/home-user",
    'action="/operator/groups/{group}/home-user"',
    {"email": "anna@example.com"},
)
REMOVE_HOME_USER = Form(
    "operator",
    "/operator/groups/{group}",
    "/operator/groups/{group}/home-user/remove",
    'action="/operator/groups/{group}/home-user"',
    {},
)
ADD_EVSE = Form(
    "operator",
    "/operator/groups/{group}",
    "/operator/groups/{group}/evses",
    'action="/operator/groups/{group}/evses"',
    {},
)
WIZARD = Form(
    "operator",
    "/operator/groups/new",
    "/operator/groups/new",
    "Step ",
    {
        "name": "New home",
        "description": "",
        "time_zone": "Europe/Amsterdam",
        "algorithm": "consumer_tou",
        "home_user_email": "",
    },
)


def exclusion_add(portal: str) -> Form:
    root = "/operator" if portal == "operator" else ""
    return Form(
        portal,
        f"{root}/groups/{{group}}",
        f"{root}/groups/{{group}}/exclusion-times/add",
        'id="add-window"',
        {"days": ["tue"], "start": "07:00", "end": "09:00"},
    )


def exclusion_remove(portal: str) -> Form:
    root = "/operator" if portal == "operator" else ""
    return Form(
        portal,
        f"{root}/groups/{{group}}",
        f"{root}/groups/{{group}}/exclusion-times/remove",
        'id="add-window"',
        {"weekdays": "mon", "start": "17:00", "end": "21:00"},
    )


def priority(portal: str) -> Form:
    root = "/operator" if portal == "operator" else ""
    return Form(
        portal,
        f"{root}/groups/{{group}}",
        f"{root}/groups/{{group}}/priority-charge/start",
        "/priority-charge/start",
        {"minutes": "30", "back": ""},
    )


def new_password(portal: str) -> Form:
    root = "/operator" if portal == "operator" else ""
    return Form(
        portal,
        f"{root}/password",
        f"{root}/password",
        'name="new_password"',
        {
            "current_password": PASSWORD,
            "new_password": "a-new-password",
            "repeat": "a-new-password",
        },
    )


CASES = [
    # the EVSE registry (the JSON API caps these; the form did not)
    (EVSE, {"connector_id": "abc"}, 422, ["Connector", "“abc” is not a whole number"]),
    (EVSE, {"connector_id": "-1"}, 422, ["Connector", "between 1 and 1000"]),
    (EVSE, {"connector_id": "1001"}, 422, ["Connector", "between 1 and 1000"]),
    (EVSE, {"connector_id": "2147483648"}, 422, ["Connector", "between 1 and 1000"]),
    (EVSE, {"connector_id": "1" * 5000}, 422, ["Connector", "too long for a number"]),
    (EVSE, {"connector_id": ""}, 422, ["Connector", "give the connector's number"]),
    (EVSE, {"max_current_a": "nan"}, 422, ["Maximum current", "“nan” is not a number"]),
    (EVSE, {"max_current_a": "inf"}, 422, ["Maximum current", "“inf” is not a number"]),
    (EVSE, {"max_current_a": "1e400"}, 422, ["Maximum current", "not a number"]),
    (EVSE, {"max_current_a": "-5"}, 422, ["Maximum current", "more than 0 A"]),
    (EVSE, {"max_current_a": "1000000000000"}, 422, ["Maximum current", "at most 1,000 A"]),
    (EVSE, {"phases": "2"}, 422, ["Phases: choose 1 phase or 3 phases"]),
    (EVSE, {"phases": ""}, 422, ["Choose 1 or 3 phases for the maximum current"]),
    (EVSE, {"max_power_w": "11000"}, 422, ["maximum current or the maximum power, not both"]),
    (EVSE, {"charge_point_id": "CP\x00"}, 422, ["Charger id", "control characters"]),
    (EVSE, {"charge_point_id": KB16}, 422, ["Charger id", "at most 48 characters"]),
    (EVSE, {"charge_point_id": "CP 1/a"}, 422, ["Charger id", "no spaces or slashes"]),
    (EVSE, {"connector_id": ["1", "2"]}, 422, ["Connector", "sent this field 2 times"]),
    (EVSE, {"max_power_w": None}, 422, ["Maximum power", "did not send this field"]),
    (CHARGER_PASSWORD, {"password": "a\x00" * 10}, 422, ["Password", "printable"]),
    (CHARGER_PASSWORD, {"password": KB16}, 422, ["Password", "16 to 40 characters"]),
    (CHARGER_PASSWORD, {"charge_point_id": "CP/1"}, 422, ["Charger id", "no spaces"]),
    (CHARGER_PASSWORD, {"password": ["x" * 20, "y" * 20]}, 422, ["Password", "2 times"]),
    # inviting a home user
    (INVITE, {"email": "dora\x00@example.com"}, 422, ["E-mail", "control characters"]),
    (INVITE, {"email": KB16}, 422, ["E-mail", "at most 254 characters, got 16000"]),
    (INVITE, {"email": "d" * 250 + "@x.com"}, 422, ["E-mail", "at most 254 characters"]),
    (INVITE, {"email": "dora"}, 422, ["E-mail", "'dora' is not an e-mail address"]),
    (INVITE, {}, 422, ["E-mail", "did not send this field"]),
    (INVITE, {"email": ["d@example.com", "e@example.com"]}, 422, ["E-mail", "2 times"]),
    # a group's details, home user and EVSEs
    (DETAILS, {"name": "Anna\x00"}, 422, ["Name", "control characters"]),
    (DETAILS, {"name": KB16}, 422, ["Name", "at most 100 characters, got 16000"]),
    (DETAILS, {"name": "   "}, 422, ["Name", "must not be empty"]),
    (DETAILS, {"description": "gate\x07"}, 422, ["Description", "control characters"]),
    (DETAILS, {"description": KB16}, 422, ["Description", "at most 2000 characters"]),
    (DETAILS, {"time_zone": "Mars/Olympus"}, 422, ["Time zone", "'Mars/Olympus'"]),
    (DETAILS, {"time_zone": "UTC\x00"}, 422, ["Time zone", "control characters"]),
    (DETAILS, {"time_zone": KB16}, 422, ["Time zone", "at most 64 characters"]),
    (DETAILS, {"time_zone": None}, 422, ["Time zone", "did not send this field"]),
    (DETAILS, {"name": ["Home", "Away"]}, 422, ["Name", "2 times"]),
    (HOME_USER, {"email": "anna\x00@example.com"}, 422, ["E-mail", "control characters"]),
    (HOME_USER, {"email": KB16}, 422, ["E-mail", "at most 254"]),
    (HOME_USER, {"email": "nobody@example.com"}, 422, ["nobody@example.com", "invite"]),
    (HOME_USER, {"email": ["anna@example.com"] * 2}, 422, ["E-mail", "2 times"]),
    (REMOVE_HOME_USER, {"user_id": "not-an-id\x00"}, 422, ["No user named"]),
    (ADD_EVSE, {"evse_id": KB16}, 422, ["Choose an EVSE"]),
    (ADD_EVSE, {}, 422, ["EVSE", "did not send this field"]),
    # the "New group" wizard's last step
    (WIZARD, {"name": "Home\x00"}, 422, ["Name", "control characters"]),
    (WIZARD, {"name": KB16}, 422, ["Name", "at most 100 characters"]),
    (WIZARD, {"time_zone": "Mars/Olympus"}, 422, ["Time zone", "'Mars/Olympus'"]),
    (WIZARD, {"algorithm": "cheapest\x00"}, 422, ["Choose the algorithm"]),
    (WIZARD, {"home_user_email": "a\x00@example.com"}, 422, ["E-mail", "control characters"]),
    (WIZARD, {"evse": ["not-an-evse"]}, 422, ["no longer free"]),
    (WIZARD, {"name": ["A", "B"]}, 422, ["Name", "2 times"]),
]
for portal in ("operator", "anna"):
    CASES += [
        (exclusion_add(portal), {"days": ["funday"]}, 422, ["“funday” is not a day"]),
        (exclusion_add(portal), {"days": ["mon\x00"]}, 422, ["“mon\ufffd” is not a day"]),
        (exclusion_add(portal), {"days": [KB16]}, 422, ["“xxxxx", "…” is not a day"]),
        (exclusion_add(portal), {"days": []}, 422, ["Choose at least one day"]),
        (exclusion_add(portal), {"start": "24:00"}, 422, ["start time “24:00”", "HH:MM"]),
        (exclusion_add(portal), {"start": KB16}, 422, ["start time", "…” is not a time"]),
        (exclusion_add(portal), {"end": None}, 422, ["End", "did not send this field"]),
        (exclusion_add(portal), {"end": ["09:00", "10:00"]}, 422, ["End", "2 times"]),
        (exclusion_remove(portal), {"weekdays": "mon\x00"}, 422, ["Days", "unknown day"]),
        (exclusion_remove(portal), {"start": "99:00"}, 422, ["Start", "'99:00'", "HH:MM"]),
        (priority(portal), {"minutes": "1000000000000"}, 422, ["Choose how long"]),
        (priority(portal), {"minutes": "nan"}, 422, ["Choose how long"]),
        (priority(portal), {"minutes": "-30"}, 422, ["Choose how long"]),
        (priority(portal), {"minutes": ["30", "60"]}, 422, ["Duration", "2 times"]),
        (
            new_password(portal),
            {"new_password": "pass\x00word", "repeat": "pass\x00word"},
            422,
            ["Password", "control characters"],
        ),
        (
            new_password(portal),
            {"new_password": KB16, "repeat": KB16},
            422,
            ["Password", "at most 1024 characters, got 16000"],
        ),
        (new_password(portal), {"repeat": "something-else"}, 422, ["not the same"]),
        (new_password(portal), {"current_password": None}, 422, ["Current password", "did not"]),
        (
            new_password(portal),
            {"current_password": "\ufffd" * 9},
            422,
            ["not your current password"],
        ),
    ]


def case_id(case: tuple[Form, dict[str, Any], int, list[str]]) -> str:
    form, change, _, _ = case
    shown = {
        name: (f"{len(value)} chars" if isinstance(value, str) and len(value) > 20 else value)
        for name, value in change.items()
    }
    return f"{form.portal} {form.action.replace('{group}', 'G')} {shown}"


def filled(form: Form, change: dict[str, Any]) -> dict[str, Any]:
    """The form's good values with the case's changes; None removes a field."""
    fields = {**form.fields, **change}
    return {name: value for name, value in fields.items() if value is not None}


@pytest.mark.parametrize(("form", "change", "status", "words"), CASES, ids=map(case_id, CASES))
def test_a_bad_value_shows_the_form_again_saying_what_is_wrong_and_stores_nothing(
    portals: Portals, form: Form, change: dict[str, Any], status: int, words: list[str]
) -> None:
    client = portals.operator if form.portal == "operator" else portals.anna
    at = {"group": portals.group_id}
    client.get(form.page.format(**at))

    with nothing_stored(portals.runtime):
        answer = client.post(form.action.format(**at), filled(form, change))

    assert_form_again(answer, status, form.again.format(**at), *words)


def test_the_good_fillings_of_the_forms_above_are_accepted(portals: Portals) -> None:
    """So the cases above fail for the value they change, not for the rest of the form."""
    client, group = portals.operator, {"group": portals.group_id}
    for form in (EVSE, DETAILS, exclusion_add("operator"), priority("operator"), WIZARD):
        client.get(form.page.format(**group))
        answer = client.post(form.action.format(**group), form.fields)
        assert answer.status_code == 303, (form.action, error_text(answer))
    client.get(f"/operator/groups/{portals.group_id}")
    client.post(f"/operator/groups/{portals.group_id}/priority-charge/stop", {"back": ""})
    client.post(
        f"/operator/groups/{portals.group_id}/exclusion-times/remove",
        {"weekdays": "tue", "start": "07:00", "end": "09:00"},
    )


def raw_post(client: PageClient, path: str, body: str) -> httpx.Response:
    """A form body as bytes on the wire, for what an HTTP client would not encode itself."""
    return client.http.post(
        path,
        content=f"csrf_token={client.csrf}&{body}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("name=Anna%ED%A0%80&description=&time_zone=UTC", None),  # a lone UTF-16 half
        ("name=Anna%FF%FE&description=&time_zone=UTC", None),  # bytes that are not UTF-8
        ("name=Anna&description=&time_zone=Europe%2FAm%ED%A0%80sterdam", ["Time zone"]),
        ("name=Anna&description=&time_zone=UTC%00", ["Time zone", "control characters"]),
    ],
    ids=["half in name", "not UTF-8 in name", "half in time zone", "%00 in time zone"],
)
def test_bytes_that_are_no_text_are_kept_as_replacement_characters_or_refused(
    portals: Portals, body: str, words: list[str] | None
) -> None:
    """A browser's form turns bytes that are not UTF-8 into U+FFFD: a name may hold that; a
    time zone may not. Either way no 500, and a refusal stores nothing."""
    operator, path = portals.operator, f"/operator/groups/{portals.group_id}"
    operator.get(path)
    before = stored(portals.runtime)

    answer = raw_post(operator, f"{path}/details", body)

    if words is None:
        assert answer.status_code == 303, error_text(answer)
        assert "Anna\ufffd" in text(operator.follow(answer))
        operator.post(f"{path}/details", DETAILS.fields)
        return
    assert_form_again(answer, 422, f'action="{path}/details"', *words)
    assert stored(portals.runtime) == before


# --- logging in, and the invitation link ----------------------------------------------------


@pytest.mark.parametrize("root", ["/operator", ""])
@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"email": "anna\x00@example.com", "password": PASSWORD}, ["E-mail", "control"]),
        ({"email": KB16, "password": PASSWORD}, ["E-mail", "at most 254"]),
        ({"email": "anna@example.com", "password": KB16}, ["Wrong e-mail or password"]),
        ({"email": "anna@example.com", "password": "\x00" * 9}, ["Wrong e-mail or password"]),
        ({"email": "anna@example.com"}, ["Password", "did not send this field"]),
        ({"email": ["anna@example.com"] * 2, "password": PASSWORD}, ["E-mail", "2 times"]),
    ],
    ids=["NUL e-mail", "16 KB e-mail", "16 KB password", "NUL password", "no password", "twice"],
)
def test_a_bad_login_shows_the_login_form_again(
    portals: Portals, root: str, fields: dict[str, Any], words: list[str]
) -> None:
    anonymous = PageClient(portals.url)
    try:
        with nothing_stored(portals.runtime):
            answer = anonymous.post(f"{root}/login", {**fields, "next": "/x"}, csrf=False)
    finally:
        anonymous.close()

    assert_form_again(answer, answer.status_code, 'name="password"', *words)
    assert answer.status_code in (401, 422)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"password": "pass\x00word", "repeat": "pass\x00word"}, ["Password", "control"]),
        ({"password": KB16, "repeat": KB16}, ["Password", "at most 1024 characters"]),
        ({"password": "short", "repeat": "short"}, ["Password", "at least 10"]),
        ({"password": "a-good-password"}, ["Repeat", "did not send this field"]),
        ({"password": ["a-good-password"] * 2, "repeat": "x"}, ["Password", "2 times"]),
    ],
    ids=["NUL", "16 KB", "short", "no repeat", "twice"],
)
def test_a_bad_password_for_an_invitation_keeps_the_invitation_usable(
    portals: Portals, fields: dict[str, Any], words: list[str]
) -> None:
    anonymous = PageClient(portals.url)
    path = f"/invitation/{portals.invitation_token}"
    try:
        with nothing_stored(portals.runtime):
            answer = anonymous.post(path, fields, csrf=False)
        still_open = anonymous.get(path)
    finally:
        anonymous.close()

    assert_form_again(answer, 422, 'name="repeat"', *words)
    assert still_open.status_code == 200


@pytest.mark.parametrize("token", ["%00", "%ED%A0%80", "t" * 5000])
def test_an_invitation_link_that_is_no_token_is_gone_not_an_error(
    portals: Portals, token: str
) -> None:
    answer = httpx.get(f"{portals.url}/invitation/{token}")

    assert answer.status_code == 410
    assert "This invitation link does not work" in text(answer)


# --- query parameters of the pages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/operator/groups?q=%00", ["Search", "control characters"]),
        ("/operator/groups?q=" + "x" * 5_000, ["Search", "at most 100 characters, got 5000"]),
        ("/operator/users?q=anna%00", ["Search", "control characters"]),
        ("/operator/users?q=%1B[2J", ["Search", "control characters"]),
    ],
    ids=["NUL in groups search", "5 KB search", "NUL in users search", "escape sequence"],
)
def test_a_search_no_stored_text_can_match_is_refused_in_words(
    portals: Portals, path: str, words: list[str]
) -> None:
    answer = portals.operator.get(path)

    assert_form_again(answer, 422, 'role="search"', *words)


@pytest.mark.parametrize(
    "path",
    [
        "/operator/groups?q=%ED%A0%80",
        "/operator/groups?q=a&q=b",
        "/operator/groups/live?q=%00",
        "/operator/users?status=%00",
        "/operator/groups/new?step=1000000000000",
        "/operator/groups/new?step=x",
        "/operator/groups/new?name=%00&step=2",
        "/operator/groups/new?name=a&name=b&step=2",
        "/operator/groups/new?evse=%00&name=a&time_zone=UTC&step=4",
        "/operator/groups/not-a-group",
        "/operator/groups/not-a-group/live",
        "/operator/groups/00000000-0000-0000-0000-000000000000",
        "/groups/not-a-group",
        "/live?since=%00",
    ],
)
def test_query_parameters_of_the_pages_never_cause_a_server_error(
    portals: Portals, path: str
) -> None:
    client = portals.anna if path.startswith(("/groups", "/live")) else portals.operator

    with nothing_stored(portals.runtime):
        answer = client.get(path)

    assert answer.status_code < 500, answer.text[:300]
    if answer.status_code >= 400:
        assert answer.headers["content-type"].startswith("text/html"), answer.text[:300]
        assert text(answer).strip()


@pytest.mark.parametrize(
    "next_path",
    ["\x00", "/operator/evses\x00", "\ufffd", "//evil.example", "/" + "x" * 5000],
    ids=["NUL", "page and NUL", "replacement character", "another site", "5 KB"],
)
def test_a_next_link_that_is_no_page_of_ours_leads_home(portals: Portals, next_path: str) -> None:
    anonymous = PageClient(portals.url)
    try:
        page = anonymous.get("/operator/login", params={"next": next_path})
        answer = anonymous.post(
            "/operator/login",
            {"email": "operator@example.com", "password": PASSWORD, "next": next_path},
            csrf=False,
        )
    finally:
        anonymous.close()

    assert page.status_code == 200
    assert 'name="next" value=""' in page.text
    assert answer.status_code == 303
    assert answer.headers["location"] == "/operator/groups"


# --- hostile values, generated ---------------------------------------------------------------

_examples = itertools.count()


def domain_accepts(name: str, description: str, time_zone: str) -> bool:
    try:
        validate_name(name)
        validate_description(description)
        validate_time_zone(time_zone.strip())
    except InvalidInput:
        return False
    return True


@hypothesis_settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
@given(name=typed_text, description=typed_text, time_zone=typed_text)
def test_the_details_form_answers_as_the_domain_does_for_any_typed_text(
    portals: Portals, name: str, description: str, time_zone: str
) -> None:
    """Whatever is typed: saved exactly when the domain accepts it, else the form again with a
    4xx and a message, and nothing stored. Never a 500."""
    operator, path = portals.operator, f"/operator/groups/{portals.group_id}"
    operator.get(path)
    before = stored(portals.runtime)
    fields = {"name": name, "description": description, "time_zone": time_zone}

    answer = operator.post(f"{path}/details", fields)

    if domain_accepts(name, description, time_zone):
        assert answer.status_code == 303, error_text(answer)
        operator.post(f"{path}/details", DETAILS.fields)  # back as it was, for the next one
        return
    assert_form_again(answer, 422, f'action="{path}/details"')
    assert error_text(answer)
    assert stored(portals.runtime) == before


@hypothesis_settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
@given(
    connector_id=typed_text,
    max_current_a=typed_text,
    phases=st.one_of(st.sampled_from(["", "1", "3"]), typed_text),
    max_power_w=typed_text,
)
def test_the_evse_form_never_fails_and_never_stores_a_refused_value(
    portals: Portals, connector_id: str, max_current_a: str, phases: str, max_power_w: str
) -> None:
    operator = portals.operator
    operator.get("/operator/evses")
    before = stored(portals.runtime)
    fields = {
        "charge_point_id": f"CP-GEN-{next(_examples)}",
        "connector_id": connector_id,
        "max_current_a": max_current_a,
        "phases": phases,
        "max_power_w": max_power_w,
    }

    answer = operator.post("/operator/evses", fields)

    if answer.status_code == 303:
        registered = [
            row
            for row in portals.runtime.context.queries.evses()
            if row["charge_point_id"] == fields["charge_point_id"]
        ]
        assert len(registered) == 1 and 1 <= registered[0]["connector_id"] <= 1000
        return
    assert_form_again(answer, 422, 'action="/operator/evses"')
    assert error_text(answer)
    assert stored(portals.runtime) == before
