"""Moving an EVSE to another group from the operator portal, as plain forms (no JavaScript),
and through the JSON API: found by the group's name, asked first, saved as one change, both
groups' histories saying it moved; every refusal in words, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pages_kit import PageClient, error_text, evse, group, text

pytestmark = pytest.mark.postgres


@pytest.fixture
def operator(server: str, operator_credentials: tuple[str, str]) -> Iterator[PageClient]:
    client = PageClient(server)
    client.log_in(*operator_credentials)
    yield client
    client.close()


@pytest.fixture
def homes(operator_client: httpx.Client) -> dict[str, Any]:
    """Anna's home with her charger, Bob's with his, and a third group."""
    anna_evse = evse(operator_client, "CP-ANNA")
    anna = group(operator_client, "Anna's home", evse_ids=[anna_evse])
    bob = group(operator_client, "Bob's home", evse_ids=[evse(operator_client, "CP-BOB")])
    group(operator_client, "Carla's flat")
    return {"evse": anna_evse, "anna": anna["id"], "bob": bob["id"]}


def move_page(evse_id: str) -> str:
    return f"/operator/evses/{evse_id}/move"


def history(operator_client: httpx.Client, group_id: str) -> list[dict[str, Any]]:
    answer = operator_client.get(f"/api/operator/groups/{group_id}/audit")
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_the_group_page_and_the_registry_offer_to_move_each_evse(
    operator: PageClient, homes: dict[str, Any]
) -> None:
    link = f'href="{move_page(homes["evse"])}">Move to group…</a>'

    assert link in operator.get(f"/operator/groups/{homes['anna']}").text
    assert link in operator.get("/operator/evses").text


def test_the_groups_are_found_by_name_without_the_evses_own(
    operator: PageClient, homes: dict[str, Any]
) -> None:
    every = text(operator.get(move_page(homes["evse"])))
    found = operator.get(move_page(homes["evse"]), params={"q": "bob"})

    assert "It is in “Anna's home”" in every
    assert "Bob's home" in every and "Carla's flat" in every
    assert "Anna's home" not in every.split("Find the group")[1]
    assert found.status_code == 200
    assert "Bob's home" in text(found) and "Carla's flat" not in text(found)
    assert f"group_id={homes['bob']}" in found.text
    assert "No other group matches “nobody”" in text(
        operator.get(move_page(homes["evse"]), params={"q": "nobody"})
    )


def test_the_operator_confirms_and_both_histories_say_it_moved(
    operator: PageClient, operator_client: httpx.Client, homes: dict[str, Any]
) -> None:
    asked = operator.get(move_page(homes["evse"]), params={"group_id": homes["bob"]})
    assert "Move CP-ANNA / connector 1 to “Bob's home”?" in text(asked)
    assert (
        operator_client.get(f"/api/operator/evses/{homes['evse']}").json()["group_id"]
        == (homes["anna"])
    )  # asking moved nothing

    moved = operator.post(
        move_page(homes["evse"]), {"to_group_id": homes["bob"], "from_group_id": homes["anna"]}
    )

    assert moved.headers["location"] == f"/operator/groups/{homes['bob']}#evses"
    bobs_page = text(operator.follow(moved))
    assert "CP-ANNA / connector 1 moved from “Anna's home” to “Bob's home”." in bobs_page
    assert "EVSE moved here CP-ANNA / connector 1, from “Anna's home”" in bobs_page
    annas_page = text(operator.get(f"/operator/groups/{homes['anna']}"))
    assert "EVSE moved away CP-ANNA / connector 1, to “Bob's home”" in annas_page
    assert "CP-ANNA" not in annas_page.split("EVSEs")[1].split("History")[0]
    added = history(operator_client, homes["bob"])[0]
    assert added["action"] == "evse_added"
    assert added["new_value"]["moved_from"] == {"group_id": homes["anna"], "name": "Anna's home"}
    removed = history(operator_client, homes["anna"])[0]
    assert removed["old_value"]["moved_to"] == {"group_id": homes["bob"], "name": "Bob's home"}


def test_a_free_evse_moves_from_the_registry(
    operator: PageClient, operator_client: httpx.Client, homes: dict[str, Any]
) -> None:
    free = evse(operator_client, "CP-FREE")
    asked = text(operator.get(move_page(free), params={"group_id": homes["bob"]}))
    assert "It is in no group" in asked

    moved = operator.post(move_page(free), {"to_group_id": homes["bob"], "from_group_id": ""})

    assert "CP-FREE / connector 1 moved to “Bob's home”." in text(operator.follow(moved))
    assert history(operator_client, homes["bob"])[0]["new_value"].get("moved_from") is None


def test_a_post_without_the_pages_token_moves_nothing(
    operator: PageClient, operator_client: httpx.Client, homes: dict[str, Any]
) -> None:
    answer = operator.post(move_page(homes["evse"]), {"to_group_id": homes["bob"]}, csrf=False)

    assert answer.status_code == 403
    evse_row = operator_client.get(f"/api/operator/evses/{homes['evse']}").json()
    assert evse_row["group_id"] == homes["anna"]


def test_someone_who_moved_it_first_is_said_in_words(
    operator: PageClient, operator_client: httpx.Client, homes: dict[str, Any]
) -> None:
    operator.get(move_page(homes["evse"]), params={"group_id": homes["bob"]})
    carla = operator_client.get("/api/operator/groups", params={"q": "Carla"}).json()[0]["id"]
    first = operator_client.post(
        f"/api/operator/evses/{homes['evse']}/move", json={"group_id": carla}
    )
    assert first.status_code == 200, first.text

    late = operator.post(
        move_page(homes["evse"]), {"to_group_id": homes["bob"], "from_group_id": homes["anna"]}
    )

    assert late.status_code == 409
    assert error_text(late) == (
        "CP-ANNA / connector 1 was moved meanwhile and is now in “Carla's flat”; nothing changed."
    )
    assert operator_client.get(f"/api/operator/evses/{homes['evse']}").json()["group_id"] == carla


def test_a_group_deleted_meanwhile_is_said_in_words(
    operator: PageClient, operator_client: httpx.Client, homes: dict[str, Any]
) -> None:
    operator.get(move_page(homes["evse"]), params={"group_id": homes["bob"]})
    assert operator_client.delete(f"/api/operator/groups/{homes['bob']}").status_code == 204

    late = operator.post(
        move_page(homes["evse"]), {"to_group_id": homes["bob"], "from_group_id": homes["anna"]}
    )
    old_link = operator.get(move_page(homes["evse"]), params={"group_id": homes["bob"]})

    for answer in (late, old_link):
        assert 400 <= answer.status_code < 500
        assert "That group is no longer there (deleted meanwhile)" in error_text(answer)
        assert "Carla's flat" in text(answer)  # the others to choose from


def test_an_evse_removed_from_the_registry_meanwhile_is_said_in_words(
    operator: PageClient, operator_client: httpx.Client, homes: dict[str, Any]
) -> None:
    free = evse(operator_client, "CP-GONE")
    operator.get(move_page(free), params={"group_id": homes["bob"]})
    assert operator_client.delete(f"/api/operator/evses/{free}").status_code == 204

    late = operator.post(move_page(free), {"to_group_id": homes["bob"], "from_group_id": ""})

    assert late.status_code == 404
    assert "There is no such EVSE in the registry (it was removed)." in text(late)


@pytest.mark.parametrize(
    "fields",
    [{}, {"to_group_id": "not-an-id"}, {"to_group_id": "x" * 16 * 1024}, {"to_group_id": "\x00"}],
    ids=["no group", "not an id", "16 KB", "NUL"],
)
def test_a_form_that_is_not_ours_is_refused_in_words(
    operator: PageClient, homes: dict[str, Any], fields: dict[str, str]
) -> None:
    operator.get(move_page(homes["evse"]))

    answer = operator.post(move_page(homes["evse"]), fields)

    assert 400 <= answer.status_code < 500
    assert error_text(answer) or "could not be used" in text(answer)


def test_the_json_api_moves_and_refuses_with_the_right_codes(
    operator_client: httpx.Client, homes: dict[str, Any]
) -> None:
    url = f"/api/operator/evses/{homes['evse']}/move"
    stale = {"group_id": homes["bob"], "from_group_id": "00000000-0000-0000-0000-000000000000"}

    assert operator_client.post(url, json=stale).status_code == 409
    unknown = {"group_id": "00000000-0000-0000-0000-000000000000"}
    assert operator_client.post(url, json=unknown).status_code == 404
    moved = operator_client.post(
        url, json={"group_id": homes["bob"], "from_group_id": homes["anna"]}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["group_id"] == homes["bob"]
    assert moved.json()["group_name"] == "Bob's home"
