"""The operator's long lists as plain pages on a real PostgreSQL: groups, users and EVSEs are
counted, filtered and paged in SQL; the counts are over everything the search matches, not
the page; the links keep the search and the filter; "Add an EVSE" searches the free ones.
An address no link of ours writes gets a 422 page in words, never a server error."""

# ruff: noqa: RUF001 - the pages write ranges with an en dash, and these tests check them verbatim

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import pytest

from conftest import serving
from domain.actors import Actor
from domain.evse_limits import EvseLimits
from pages_kit import PageClient, error_text, text
from service_kit import PASSWORD, home_user, running_service
from smartcharge.database import Database
from smartcharge.runtime import Runtime

pytestmark = pytest.mark.postgres

GROUPS = 230  # three pages of 100
EVSES = 60  # two pages of 50, and more than the 10 "Add an EVSE" shows


@dataclass
class Fleet:
    runtime: Runtime
    operator: PageClient
    priority_group: UUID
    offline_group: UUID
    online_group: UUID


def register(runtime: Runtime, charger: str, connector: int = 1) -> UUID:
    evse_id, _ = runtime.service.evses.register_evse(
        charger, connector, Actor.system(), EvseLimits(max_current_a=16, phases=3)
    )
    return evse_id


def group(runtime: Runtime, name: str, **fields: object) -> UUID:
    group_id, _ = runtime.service.groups.create_group(
        name=name, time_zone="Europe/Amsterdam", actor=Actor.system(), **fields
    )
    return group_id


def online(runtime: Runtime, charger: str) -> None:
    runtime.service.chargers.set_charger_password(charger, "charger-secret-1", Actor.system())
    runtime.service.chargers.charger_connected(charger, "gateway-1", "ocpp1.6")


def fill(runtime: Runtime) -> tuple[UUID, UUID, UUID]:
    """230 groups "Group 000".."Group 229"; one with a priority charge, one whose charger is
    offline, one whose charger is online; 60 free EVSEs FREE-00..FREE-59, FREE-00 online."""
    for index in range(GROUPS):
        if index not in (7, 8, 9):
            group(runtime, f"Group {index:03}")
    priority = group(runtime, "Group 007")
    runtime.service.groups.start_priority_charge(
        priority, Actor.system(), duration=timedelta(hours=1)
    )
    offline = group(runtime, "Group 008", evse_ids=[register(runtime, "CP-OFF")])
    online(runtime, "CP-ON")
    on = group(runtime, "Group 009", evse_ids=[register(runtime, "CP-ON")])
    for index in range(EVSES):
        register(runtime, f"FREE-{index:02}")
    online(runtime, "FREE-00")
    return priority, offline, on


@pytest.fixture(scope="module")
def fleet(postgres_server: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """One service for the module (the tests only read, but for the one adding an EVSE)."""
    with running_service(postgres_server, tmp_path_factory.mktemp("lists")) as runtime:
        runtime.service.accounts.add_operator("operator@example.com", PASSWORD, Actor.system())
        priority, offline, on = fill(runtime)
        for name in ("amy", "ben", "cat"):
            home_user(runtime, f"{name}@example.com")
        home_user(runtime, "dan@example.com", password=None)  # invited
        revoked = home_user(runtime, "eve@example.com")
        runtime.service.accounts.revoke_user(revoked, Actor.system())
        assert runtime.context.view.wait_for(runtime.service.recorder.max_notification_id(), 30)
        with serving(runtime.api) as url:
            operator = PageClient(url)
            operator.log_in("operator@example.com", PASSWORD)
            yield Fleet(runtime, operator, priority, offline, on)
            operator.close()


def link(answer_text: str, rel: str) -> str:
    found = re.search(rf'<a class="button" href="([^"]+)" rel="{rel}"', answer_text)
    assert found, f"no {rel} link"
    return html.unescape(found.group(1))


def group_names(answer_text: str) -> list[str]:
    return re.findall(r'<a href="/operator/groups/[0-9a-f-]{36}">([^<]+)</a>', answer_text)


# --- groups ---------------------------------------------------------------------------------


def test_the_group_list_says_how_many_and_pages_through_all_of_them(fleet: Fleet) -> None:
    first = fleet.operator.get("/operator/groups")
    second = fleet.operator.get(link(first.text, "next"))
    third = fleet.operator.get(link(second.text, "next"))
    back = fleet.operator.get(link(third.text, "prev"))

    assert "230 groups; this page shows 100, by name." in text(first)
    assert 'rel="prev"' not in first.text
    names = group_names(first.text) + group_names(second.text) + group_names(third.text)
    assert names == [f"Group {index:03}" for index in range(GROUPS)]
    assert 'rel="next"' not in third.text
    assert group_names(back.text) == group_names(second.text)


def test_the_group_list_is_filtered_and_counted_in_sql_with_the_search_kept(
    fleet: Fleet,
) -> None:
    everything = text(fleet.operator.get("/operator/groups"))
    priority = fleet.operator.get("/operator/groups", params={"show": "priority"})
    offline = fleet.operator.get("/operator/groups", params={"show": "offline"})
    searched = fleet.operator.get("/operator/groups", params={"q": "group 00", "show": "offline"})

    assert "All groups 230 Priority charge running 1 A charger offline 1" in everything
    assert group_names(priority.text) == ["Group 007"]
    assert "1 group with a priority charge running." in text(priority)
    assert "Priority charge running" in text(priority)  # the row's flag
    assert group_names(offline.text) == ["Group 008"]
    assert "1 charger offline" in text(offline)
    assert group_names(searched.text) == ["Group 008"]
    assert "All groups 10 Priority charge running 1 A charger offline 1" in text(searched)
    assert 'href="/operator/groups?q=group+00&amp;show=priority"' in searched.text


def test_a_search_finds_groups_by_part_of_the_name_and_pages_within_it(fleet: Fleet) -> None:
    found = fleet.operator.get("/operator/groups", params={"q": "oup 1"})

    assert "100 groups match “oup 1”." in text(found)
    assert group_names(found.text)[0] == "Group 100"
    assert 'rel="next"' not in found.text


def test_a_page_after_a_group_deleted_meanwhile_starts_again_at_the_first(fleet: Fleet) -> None:
    answer = fleet.operator.get(
        "/operator/groups", params={"after": "00000000-0000-0000-0000-000000000000"}
    )

    assert answer.status_code == 200
    assert "deleted meanwhile: here is the first page" in text(answer)
    assert group_names(answer.text)[0] == "Group 000"


# --- users ------------------------------------------------------------------------------------


def test_user_counts_are_over_all_users_while_the_filter_shows_only_the_active(
    fleet: Fleet,
) -> None:
    active = fleet.operator.get("/operator/users", params={"status": "active"})

    assert "All 5 Invited 1 Active 3 Revoked 1" in text(active)
    assert "3 active home users." in text(active)
    assert "eve@example.com" not in text(active)
    assert "amy@example.com active" in text(active)


def test_users_are_searched_by_the_start_of_the_e_mail_and_counted_so(fleet: Fleet) -> None:
    found = fleet.operator.get("/operator/users", params={"q": "E", "status": "revoked"})

    assert "All 1 Invited 0 Active 0 Revoked 1" in text(found)
    assert "eve@example.com revoked" in text(found)
    assert 'href="/operator/users?q=E&amp;status=active"' in found.text


def test_users_page_past_the_last_says_so(fleet: Fleet) -> None:
    answer = fleet.operator.get("/operator/users", params={"page": "9"})

    assert answer.status_code == 200
    assert "There is no page 9: the list has 1." in text(answer)


# --- EVSEs ------------------------------------------------------------------------------------


def test_the_evse_registry_pages_searches_and_filters_with_counts(fleet: Fleet) -> None:
    first = fleet.operator.get("/operator/evses")
    second = fleet.operator.get(link(first.text, "next").split("#")[0])
    online = fleet.operator.get("/operator/evses", params={"connection": "online"})
    free_online = fleet.operator.get(
        "/operator/evses", params={"connection": "online", "place": "free"}
    )
    searched = fleet.operator.get("/operator/evses", params={"q": "free-1"})
    connector = fleet.operator.get("/operator/evses", params={"q": "cp-on/1"})

    assert "62 EVSEs; this page shows 1–50, by charger id." in text(first)
    assert "2 online, 60 offline; 60 free, 2 in a group." in text(first)
    assert "Page 2 of 2" in text(second)
    assert "FREE-59 / connector 1" in text(second)
    assert "2 EVSEs match." in text(online)
    assert "1 EVSE match." in text(free_online)
    assert "FREE-00 / connector 1" in text(free_online)
    assert "10 EVSEs match." in text(searched)
    assert "CP-ON / connector 1" in text(connector)
    assert "CP-OFF" not in text(connector)


# --- Add an EVSE ------------------------------------------------------------------------------


def test_add_an_evse_searches_the_free_ones_and_says_how_many_more(fleet: Fleet) -> None:
    page = f"/operator/groups/{fleet.online_group}"
    everything = fleet.operator.get(page)
    searched = fleet.operator.get(page, params={"evse_q": "free-3"})

    assert "60 free EVSEs; the first 10:" in text(everything)
    assert "50 more — refine the search." in text(everything)
    assert "<select" not in everything.text.split('id="add-evse"')[1].split("</div>")[0]
    assert "10 free EVSEs match “free-3”:" in text(searched)
    assert "more — refine" not in text(searched)

    evse_id = re.search(r'name="evse_id" value="([0-9a-f-]{36})"', searched.text)
    assert evse_id
    added = fleet.operator.post(f"{page}/evses", {"evse_id": evse_id.group(1)})
    assert "EVSE added to the group." in text(fleet.operator.follow(added))
    again = fleet.operator.get(page, params={"evse_q": "free-3"})
    assert "9 free EVSEs match “free-3”:" in text(again)


def test_the_wizard_finds_free_evses_and_keeps_those_chosen(fleet: Fleet) -> None:
    steps = {"name": "New home", "time_zone": "UTC", "algorithm": "consumer_tou", "step": 3}
    everything = fleet.operator.get("/operator/groups/new", params=steps)
    chosen = re.findall(r'name="evse" value="([0-9a-f-]{36})"', everything.text)[0]
    searched = fleet.operator.get(
        "/operator/groups/new", params={**steps, "evse": chosen, "evse_q": "free-5"}
    )

    assert "free EVSEs; the first 10." in text(everything)
    assert "more — refine the search." in text(everything)
    assert "Chosen EVSEs" in text(searched)
    assert f'name="evse" value="{chosen}" checked' in searched.text
    assert "10 free EVSEs match “free-5”." in text(searched)


# --- addresses no link of ours writes -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/operator/groups?after=garbage", ["broken", "after=“garbage”"]),
        ("/operator/groups?before=%00", ["broken"]),
        ("/operator/groups?show=everything", ["Show", "“everything” is not a choice"]),
        ("/operator/users?page=-1", ["Page", "“-1” is not a page", "numbered from 1"]),
        ("/operator/users?page=0", ["Page", "numbered from 1"]),
        ("/operator/users?page=99999999999999999999", ["Page", "numbered from 1"]),
        ("/operator/users?status=gone", ["Status", "choose invited, active, revoked"]),
        ("/operator/evses?page=x", ["Page"]),
        ("/operator/evses?connection=maybe", ["Connection", "online, offline"]),
        ("/operator/evses?q=%00", ["Search", "control characters"]),
        ("/operator/evses?q=" + "x" * 16_000, ["Search", "at most 100 characters, got 16000"]),
        ("/operator/groups?q=" + "x" * 16_000, ["Search", "at most 100 characters, got 16000"]),
        ("/operator/users?q=a%00b", ["Search", "control characters"]),
    ],
)
def test_a_list_address_no_link_writes_is_refused_in_words(
    fleet: Fleet, path: str, words: list[str]
) -> None:
    answer = fleet.operator.get(path)

    assert answer.status_code == 422, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/html")
    message = error_text(answer)
    for word in words:
        assert word in html.unescape(message), (word, message)


@pytest.mark.parametrize("where", ["group", "wizard"])
def test_add_an_evse_refuses_a_search_no_charger_id_can_match(fleet: Fleet, where: str) -> None:
    path, steps = (
        (f"/operator/groups/{fleet.online_group}", {})
        if where == "group"
        else ("/operator/groups/new", {"name": "a", "time_zone": "UTC", "step": 3})
    )
    nul = fleet.operator.get(path, params={**steps, "evse_q": "CP\x00"})
    long = fleet.operator.get(path, params={**steps, "evse_q": "x" * 16_000})

    assert nul.status_code == 422
    assert "control characters" in error_text(nul)
    assert long.status_code == 422
    assert "at most 100 characters" in error_text(long)
