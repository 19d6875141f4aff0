"""A group's history as each of its successive home users sees it: only from the latest time
they were added, in the consumer portal's page and its JSON API; operators see it all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conftest import login
from mailcatcher import MailCatcher
from pages_kit import PageClient, evse, group, home_user, text

pytestmark = pytest.mark.postgres

ANNA, BERT = "anna@example.com", "bert@example.com"
ANNA_PASSWORD, BERT_PASSWORD = "violet-harbour-lantern-42", "copper-meadow-whistle-77"
ANNAS_WINDOW = {"weekdays": ["sat"], "start": "03:15", "end": "04:45"}
BERTS_WINDOW = {"weekdays": ["sun"], "start": "05:20", "end": "06:10"}


@pytest.fixture
def handed_over(
    server: str, operator_client: httpx.Client, smtp_server: MailCatcher
) -> Iterator[dict[str, Any]]:
    """A group whose first home user, Anna, set her exclusion times and charged with
    priority, then was removed; Bert became its home user and set his own."""
    home_user(server, operator_client, smtp_server, ANNA, ANNA_PASSWORD)
    home_user(server, operator_client, smtp_server, BERT, BERT_PASSWORD)
    created = group(
        operator_client, "Flat 3", home_user_email=ANNA, evse_ids=[evse(operator_client, "CP-3")]
    )
    group_id, anna_id = created["id"], created["home_user"]["id"]
    with login(server, ANNA, ANNA_PASSWORD) as anna:
        put = anna.put(
            f"/api/me/groups/{group_id}/exclusion-times", json={"windows": [ANNAS_WINDOW]}
        )
        assert put.status_code == 200, put.text
        assert anna.post(f"/api/me/groups/{group_id}/priority-charge").status_code == 200
    removed = operator_client.delete(f"/api/operator/groups/{group_id}/home-user/{anna_id}")
    assert removed.status_code == 200, removed.text
    added = operator_client.put(f"/api/operator/groups/{group_id}/home-user", json={"email": BERT})
    assert added.status_code == 200, added.text
    with login(server, BERT, BERT_PASSWORD) as bert:
        put = bert.put(
            f"/api/me/groups/{group_id}/exclusion-times", json={"windows": [BERTS_WINDOW]}
        )
        assert put.status_code == 200, put.text
        yield {"group_id": group_id, "anna_id": anna_id, "bert": bert}


def test_new_home_user_sees_history_only_from_joining(handed_over: dict[str, Any]) -> None:
    group_id, bert = handed_over["group_id"], handed_over["bert"]

    entries = bert.get(f"/api/me/groups/{group_id}/audit").json()

    assert [entry["action"] for entry in entries] == ["exclusion_times_set", "home_user_added"]
    assert entries[-1]["new_value"]["email"] == BERT
    seen = json.dumps(entries)
    assert ANNA not in seen and handed_over["anna_id"] not in seen
    # Only the group's state when he joined (shown on its page anyway) is the "old" of a change.
    assert entries[0]["old_value"] == [{**ANNAS_WINDOW}]
    assert "priority_charge_started" not in seen


def test_new_home_users_page_shows_none_of_the_previous_ones_history(
    server: str, handed_over: dict[str, Any]
) -> None:
    page = PageClient(server)
    try:
        page.log_in(BERT, BERT_PASSWORD, portal="")
        answer = page.get(f"/groups/{handed_over['group_id']}")
    finally:
        page.close()

    assert answer.status_code == 200
    assert "Home user added" in text(answer) and BERT in text(answer)
    assert ANNA not in answer.text
    assert "Priority charge started" not in text(answer)


def test_operator_still_sees_the_whole_history(
    operator_client: httpx.Client, handed_over: dict[str, Any]
) -> None:
    entries = operator_client.get(f"/api/operator/groups/{handed_over['group_id']}/audit").json()

    actions = [entry["action"] for entry in entries]
    assert "priority_charge_started" in actions and "home_user_removed" in actions
    assert {entry["actor_email"] for entry in entries} >= {ANNA, BERT, "operator@example.com"}


def test_home_user_added_again_sees_only_from_the_latest_time(
    server: str, operator_client: httpx.Client, handed_over: dict[str, Any]
) -> None:
    group_id, bert = handed_over["group_id"], handed_over["bert"]
    bert_id = operator_client.get(f"/api/operator/groups/{group_id}").json()["home_user"]["id"]
    operator_client.delete(f"/api/operator/groups/{group_id}/home-user/{bert_id}")
    again = operator_client.put(f"/api/operator/groups/{group_id}/home-user", json={"email": ANNA})
    assert again.status_code == 200, again.text

    with login(server, ANNA, ANNA_PASSWORD) as anna:
        entries = anna.get(f"/api/me/groups/{group_id}/audit").json()

    assert [entry["action"] for entry in entries] == ["home_user_added"]
    assert BERT not in json.dumps(entries)
    assert bert.get(f"/api/me/groups/{group_id}/audit").status_code == 404  # not his group now
