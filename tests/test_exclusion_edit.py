"""Exclusion times are edited in place, not removed and added again: one window changes in one
save (the charger never holds the group without it), "10:00 to 10:00" must be said to be all
day, overlapping windows are shown merged, and the history says which window was added,
removed or changed, for entries recorded before this too."""

# ruff: noqa: RUF001 - the pages write ranges with an en dash, and these tests check them verbatim

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.pages.audit_words import exclusion_change
from domain.actors import Actor
from domain.errors import Conflict, InvalidExclusionTimes, NotFound
from domain.exclusion_times import ExclusionWindow, parse_windows, window_changes
from domain.service import SmartCharging
from domain_strategies import exclusion_windows, window_lists
from mailcatcher import MailCatcher
from pages_kit import PageClient, error_text, evse, group, home_user, text

EVENING = {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "17:00", "end": "21:00"}
LATER = {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "17:30", "end": "21:00"}
NIGHT = {"weekdays": ["sat"], "start": "23:00", "end": "07:00"}


def window(wire: dict[str, Any]) -> ExclusionWindow:
    return ExclusionWindow.parse(wire)


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def group_id(app: SmartCharging, operator: Actor) -> UUID:
    group_id, _ = app.groups.create_group(
        name="Edit",
        time_zone="Europe/Amsterdam",
        actor=operator,
        exclusion_windows=[window(EVENING), window(NIGHT)],
    )
    return group_id


def test_a_window_is_changed_in_its_place_in_one_event(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    before = app.recorder.max_notification_id() or 0

    app.groups.change_exclusion_window(group_id, window(EVENING), window(LATER), operator)

    assert app.group(group_id).exclusion_windows == (window(LATER), window(NIGHT))
    recorded = app.recorder.select_notifications(start=before + 1, limit=10)
    assert [n.topic.rsplit(".", 1)[-1] for n in recorded] == ["ExclusionTimesSet"]


def test_changing_a_window_that_is_gone_is_refused_and_nothing_changes(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    app.groups.remove_exclusion_window(group_id, window(NIGHT), operator)

    with pytest.raises(Conflict, match="removed or changed meanwhile"):
        app.groups.change_exclusion_window(group_id, window(NIGHT), window(LATER), operator)
    assert app.group(group_id).exclusion_windows == (window(EVENING),)


def test_only_the_groups_own_home_user_may_change_its_windows(
    app: SmartCharging, operator: Actor, group_id: UUID
) -> None:
    _, token = app.accounts.invite_home_user("anna@example.com", operator)
    anna = Actor.home_user(app.accounts.accept_invitation(token, "violet-harbour-lantern-42"))
    _, token = app.accounts.invite_home_user("bob@example.com", operator)
    bob = Actor.home_user(app.accounts.accept_invitation(token, "violet-harbour-lantern-43"))
    app.groups.add_home_user(group_id, anna.user_id, operator)

    with pytest.raises(NotFound):
        app.groups.change_exclusion_window(group_id, window(EVENING), window(LATER), bob)
    app.groups.change_exclusion_window(group_id, window(EVENING), window(LATER), anna)

    assert window(LATER) in app.group(group_id).exclusion_windows


@given(window_lists(max_size=6).filter(bool), st.data())
def test_a_window_changed_in_its_place_reads_as_changed(
    windows: list[ExclusionWindow], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(windows) - 1))
    new = data.draw(exclusion_windows().filter(lambda w: w not in windows))
    changed = [*windows[:index], new, *windows[index + 1 :]]

    changes = window_changes(windows, changed)

    if windows[index] in changed:  # the old one is still there twice over: a removal of one
        assert changes.added == (new,)
    else:
        assert changes.changed == ((windows[index], new),)


@given(window_lists(max_size=6), window_lists(max_size=6))
def test_the_changes_account_for_every_window(
    old: list[ExclusionWindow], new: list[ExclusionWindow]
) -> None:
    changes = window_changes(old, new)
    after = {*old} - {*changes.removed} - {was for was, _ in changes.changed}
    after |= {*changes.added} | {now for _, now in changes.changed}

    assert after == set(new)


# --- the history's words (also for entries recorded before) ----------------------------------


@pytest.mark.parametrize(
    ("old", "new", "what", "detail"),
    [
        (
            [EVENING],
            [LATER],
            "Exclusion time changed",
            "Mon–Fri 17:00–21:00 changed to 17:30–21:00",
        ),
        (
            [EVENING],
            [{**EVENING, "weekdays": ["sat"]}],
            "Exclusion time changed",
            "Mon–Fri 17:00–21:00 changed to Sat 17:00–21:00",
        ),
        (
            [EVENING],
            [EVENING, NIGHT],
            "Exclusion time added",
            "Sat 23:00–07:00 (until the next day)",
        ),
        ([EVENING, NIGHT], [NIGHT], "Exclusion time removed", "Mon–Fri 17:00–21:00"),
        (
            None,
            [EVENING, NIGHT],
            "Exclusion times added",
            "Mon–Fri 17:00–21:00; Sat 23:00–07:00 (until the next day)",
        ),
        (
            [EVENING, NIGHT],
            [LATER],
            "Exclusion times changed",
            "added Mon–Fri 17:30–21:00; removed Mon–Fri 17:00–21:00;"
            " Sat 23:00–07:00 (until the next day)",
        ),
        (
            [{"weekdays": ["sun"], "start": "10:00", "end": "10:00"}],
            [],
            "Exclusion time removed",
            "Sun 10:00 for 24 hours (until 10:00 next day)",
        ),
    ],
)
def test_the_history_says_what_changed_not_the_whole_list(
    old: Any, new: Any, what: str, detail: str
) -> None:
    assert exclusion_change(old, new) == (what, detail)


# --- pages and API --------------------------------------------------------------------------


@pytest.fixture
def anna_group(
    server: str, operator_client: httpx.Client, smtp_server: MailCatcher
) -> dict[str, Any]:
    home_user(server, operator_client, smtp_server, "anna@example.com", "anna-secret-1")
    return group(
        operator_client,
        "Anna's home",
        home_user_email="anna@example.com",
        evse_ids=[evse(operator_client, "CP-ANNA")],
        exclusion_windows=[EVENING, NIGHT],
    )


@pytest.fixture
def anna(server: str, anna_group: dict[str, Any]) -> Iterator[PageClient]:
    client = PageClient(server)
    client.log_in("anna@example.com", "anna-secret-1", portal="")
    yield client
    client.close()


@pytest.mark.postgres
def test_the_home_user_edits_a_window_in_place_and_the_history_says_so(
    anna: PageClient, anna_group: dict[str, Any], operator_client: httpx.Client
) -> None:
    group_id = anna_group["id"]
    page = anna.get(f"/groups/{group_id}", params={"edit": "mon,tue,wed,thu,fri/17:00/21:00"})
    assert "Change Mon–Fri 17:00–21:00" in text(page)
    assert 'name="start" value="17:00"' in page.text

    saved = anna.post(
        f"/groups/{group_id}/exclusion-times/change",
        {
            "old_weekdays": "mon,tue,wed,thu,fri",
            "old_start": "17:00",
            "old_end": "21:00",
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "17:30",
            "end": "21:00",
        },
    )

    assert saved.status_code == 303
    after = anna.follow(saved)
    assert "Exclusion time changed: Mon–Fri 17:00–21:00 changed to 17:30–21:00." in text(after)
    assert "Exclusion time changed Mon–Fri 17:00–21:00 changed to 17:30–21:00" in text(after)
    windows = operator_client.get(f"/api/operator/groups/{group_id}/exclusion-times").json()
    assert windows["windows"] == [LATER, NIGHT]  # in its place, the other untouched


@pytest.mark.postgres
def test_the_same_time_twice_is_refused_in_words_with_the_edit_form_kept(
    anna: PageClient, anna_group: dict[str, Any]
) -> None:
    group_id = anna_group["id"]
    anna.get(f"/groups/{group_id}")

    refused = anna.post(
        f"/groups/{group_id}/exclusion-times/change",
        {
            "old_weekdays": "sat",
            "old_start": "23:00",
            "old_end": "07:00",
            "days": ["sat"],
            "start": "10:00",
            "end": "10:00",
        },
    )
    added = anna.post(
        f"/groups/{group_id}/exclusion-times/add",
        {"days": ["sun"], "start": "10:00", "end": "10:00"},
    )
    all_day = anna.post(  # a browser sends the empty times beside "All day"
        f"/groups/{group_id}/exclusion-times/add",
        {"days": ["sun"], "all_day": "yes", "start": "", "end": ""},
    )

    assert refused.status_code == 422
    assert "From and until are both 10:00. For the whole day tick “All day”" in error_text(refused)
    assert "Change Sat 23:00–07:00 (until the next day)" in text(refused)
    assert added.status_code == 422
    assert all_day.status_code == 303
    assert "Exclusion time added: Sun all day." in text(anna.follow(all_day))


@pytest.mark.postgres
def test_an_edit_link_to_a_window_changed_meanwhile_says_so(
    anna: PageClient, anna_group: dict[str, Any]
) -> None:
    page = anna.get(f"/groups/{anna_group['id']}", params={"edit": "sun/01:00/02:00"})

    assert page.status_code == 200
    assert "That exclusion time was changed or removed meanwhile." in error_text(page)
    assert "Add an exclusion time" in text(page)


@pytest.mark.postgres
def test_the_operator_edits_a_window_on_the_group_page(
    server: str, anna_group: dict[str, Any], operator_credentials: tuple[str, str]
) -> None:
    operator = PageClient(server)
    operator.log_in(*operator_credentials)
    group_id = anna_group["id"]
    operator.get(f"/operator/groups/{group_id}", params={"edit": "sat/23:00/07:00"})

    saved = operator.post(
        f"/operator/groups/{group_id}/exclusion-times/change",
        {
            "old_weekdays": "sat",
            "old_start": "23:00",
            "old_end": "07:00",
            "days": ["sat", "sun"],
            "start": "23:00",
            "end": "07:00",
        },
    )

    assert saved.status_code == 303
    assert "changed to Sat, Sun 23:00–07:00 (until the next day)" in text(operator.follow(saved))
    operator.close()


@pytest.mark.postgres
def test_overlapping_windows_are_shown_merged(
    anna: PageClient, anna_group: dict[str, Any], operator_client: httpx.Client
) -> None:
    group_id = anna_group["id"]
    overlapping = {"weekdays": ["mon"], "start": "20:00", "end": "22:00"}
    operator_client.put(
        f"/api/operator/groups/{group_id}/exclusion-times",
        json={"windows": [EVENING, overlapping]},
    )

    page = anna.get(f"/groups/{group_id}")
    mine = anna.get("/")

    assert "Together, no charging: Mon 17:00–22:00; Tue–Fri 17:00–21:00" in text(page)
    assert "Exclusion times: Mon 17:00–22:00; Tue–Fri 17:00–21:00" in text(mine)


@pytest.mark.postgres
def test_the_api_changes_one_window_atomically_and_says_what_changed(
    server: str, anna_group: dict[str, Any]
) -> None:
    group_id = anna_group["id"]
    with httpx.Client(base_url=server) as client:
        token = client.post(
            "/api/auth/login", json={"email": "anna@example.com", "password": "anna-secret-1"}
        ).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        path = f"/api/me/groups/{group_id}/exclusion-times"

        changed = client.patch(path, json={"old": EVENING, "new": LATER})
        gone = client.patch(path, json={"old": EVENING, "new": LATER})
        same = client.patch(path, json={"old": LATER, "new": {**LATER, "end": "17:30"}})
        whole = client.patch(
            path, json={"old": NIGHT, "new": {"weekdays": ["sat"], "all_day": True}}
        )
        audit = client.get(f"/api/me/groups/{group_id}/audit").json()
        round_trip = client.put(path, json={"windows": whole.json()["windows"]})

    assert changed.status_code == 200 and changed.json()["windows"] == [LATER, NIGHT]
    assert gone.status_code == 409
    assert (
        same.status_code == 422 and "new.end: 17:30 is the start time too" in same.json()["detail"]
    )
    assert whole.json()["windows"][1] == {
        "weekdays": ["sat"],
        "start": "00:00",
        "end": "00:00",
        "all_day": True,
    }
    assert round_trip.status_code == 200
    edits = [entry for entry in audit if entry["action"] == "exclusion_times_set"]
    assert edits[1]["changes"] == {
        "added": [],
        "removed": [],
        "changed": [{"from": EVENING, "to": LATER}],
    }


def test_a_bad_window_names_its_field() -> None:
    with pytest.raises(InvalidExclusionTimes, match=r"^new\.start"):
        ExclusionWindow.parse({"weekdays": ["mon"], "start": "25:00", "end": "01:00"}, field="new")
    assert parse_windows([EVENING]) == (window(EVENING),)
