"""Who may call what: every JSON API endpoint against every kind of caller.

The callers: nobody logged in, an operator, the home user whose group the
request names, and a home user of another group. Operator endpoints refuse
home users (403); consumer endpoints refuse operators (403); a home user who
names another user's group is told it does not exist (404), and nothing
changes. The table must list every /api route, so a new endpoint cannot be
forgotten here.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conftest import serving
from domain.actors import Actor
from domain.evse_limits import EvseLimits
from domain.exclusion_times import parse_windows
from service_kit import PASSWORD, bearer, home_user, running_service
from smartcharge.database import Database
from smartcharge.runtime import Runtime

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # FastAPI before included routers were kept nested: app.routes is flat

    def iter_route_contexts(routes: Any) -> Any:  # type: ignore[misc]
        return iter(routes)


pytestmark = pytest.mark.postgres

EVENING = {"weekdays": ["mon", "tue"], "start": "17:00", "end": "21:00"}
NIGHT = {"weekdays": ["sat"], "start": "23:00", "end": "07:00"}

# --- the service, shared by the module: the matrix has many cases --------------------------


@dataclass
class Service:
    runtime: Runtime
    url: str
    operator_id: uuid.UUID
    anna_id: uuid.UUID  # the home user of the group the requests name
    bob_id: uuid.UUID  # the home user of another group
    colleague_id: uuid.UUID  # a second operator, whom the first may disable and enable


@pytest.fixture(scope="module")
def service(
    postgres_server: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    with running_service(postgres_server, tmp_path_factory.mktemp("authorization")) as runtime:
        accounts = runtime.service.accounts
        operator_id = accounts.add_operator("operator@example.com", PASSWORD, Actor.system())
        anna_id = home_user(runtime, "anna@example.com")
        bob_id = home_user(runtime, "bob@example.com")
        colleague_id = accounts.add_operator("colleague@example.com", PASSWORD, Actor.system())
        with serving(runtime.api) as url:
            yield Service(runtime, url, operator_id, anna_id, bob_id, colleague_id)


# --- what each test starts from: Anna's group, Bob's group, a free EVSE, an invitation -----

_numbers = itertools.count(1)


@dataclass
class World:
    service: Service
    group_id: str  # Anna's group: every path with a group names this one
    other_group_id: str  # Bob's
    group_evse_id: str  # in Anna's group
    free_evse_id: str  # in no group
    invitee_id: str  # invited, has not accepted yet
    invitation_token: str
    n: int
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    @property
    def runtime(self) -> Runtime:
        return self.service.runtime


ROLES = {
    "anonymous": lambda s: None,
    "operator": lambda s: s.operator_id,
    "home user, own group": lambda s: s.anna_id,
    "home user, other's group": lambda s: s.bob_id,
}


@pytest.fixture
def world(service: Service) -> Iterator[World]:
    """Made through the command service directly: quicker than HTTP, and it sends no mail."""
    commands = service.runtime.service
    operator = Actor.operator(service.operator_id)
    n = next(_numbers)

    def evse(name: str) -> uuid.UUID:
        evse_id, _ = commands.evses.register_evse(
            f"CP-{n}-{name}", 1, operator, EvseLimits(max_power_w=11000)
        )
        return evse_id

    def group(name: str, user_id: uuid.UUID, evse_id: uuid.UUID) -> uuid.UUID:
        group_id, _ = commands.groups.create_group(
            name=f"{name} {n}",
            time_zone="Europe/Amsterdam",
            actor=operator,
            home_user_id=user_id,
            evse_ids=[evse_id],
            exclusion_windows=parse_windows([EVENING]),
        )
        return group_id

    group_evse_id = evse("anna")
    invitee_id, token = commands.accounts.invite_home_user(f"invitee-{n}@example.com", operator)
    state = World(
        service=service,
        group_id=str(group("Anna", service.anna_id, group_evse_id)),
        other_group_id=str(group("Bob", service.bob_id, evse("bob"))),
        group_evse_id=str(group_evse_id),
        free_evse_id=str(evse("free")),
        invitee_id=str(invitee_id),
        invitation_token=token,
        n=n,
    )
    assert service.runtime.context.view.wait_for(commands.recorder.max_notification_id(), 10)
    runtime, url = service.runtime, service.url
    state.clients = {role: bearer(runtime, url, user(service)) for role, user in ROLES.items()}
    yield state
    for client in state.clients.values():
        client.close()


# --- the matrix ----------------------------------------------------------------------------

PUBLIC = "anyone"
LOGGED_IN = "anyone logged in"
OPERATOR = "operators"
HOME_USER = "home users"

Params = Callable[[World], dict[str, str]]
Body = Callable[[World], Any]


def a_wrong_current_password(w: World) -> dict[str, str]:
    return {"current_password": "not-the-password", "new_password": "whatever-new-1"}


def defaults(w: World) -> dict[str, str]:
    return {
        "group_id": w.group_id,
        "user_id": w.invitee_id,
        "evse_id": w.free_evse_id,
        "token": w.invitation_token,
        "charge_point_id": f"CP-{w.n}-anna",
    }


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    audience: str
    ok: int = 200
    body: Body | None = None
    params: Params = defaults

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def call(self, client: httpx.Client, w: World) -> httpx.Response:
        url = self.path.format(**self.params(w))
        json = self.body(w) if self.body else None
        return client.request(self.method, url, json=json)


def her(w: World) -> dict[str, str]:
    return {"group_id": w.group_id, "user_id": str(w.service.anna_id)}


def her_evse(w: World) -> dict[str, str]:
    return {"group_id": w.group_id, "evse_id": w.group_evse_id}


# What an allowed caller sends: enough for the request to succeed.


def the_colleague(w: World) -> dict[str, str]:
    return {"user_id": str(w.service.colleague_id)}


def nobodys_email(w: World) -> dict[str, str]:
    return {"email": f"nobody-{w.n}@example.com"}


def anna_logs_in(w: World) -> dict[str, str]:
    return {"email": "anna@example.com", "password": PASSWORD}


def a_password(w: World) -> dict[str, str]:
    return {"password": PASSWORD}


def a_new_user(w: World) -> dict[str, str]:
    return {"email": f"new-{w.n}@example.com"}


def a_new_evse(w: World) -> dict[str, Any]:
    return {"charge_point_id": f"CP-{w.n}-new", "connector_id": 1, "max_power_w": 7400}


def single_phase_16_a(w: World) -> dict[str, Any]:
    return {"max_current_a": 16, "phases": 1}


def a_new_group(w: World) -> dict[str, str]:
    return {"name": f"New {w.n}", "time_zone": "UTC"}


def a_new_name(w: World) -> dict[str, str]:
    return {"name": f"Renamed {w.n}"}


def anna(w: World) -> dict[str, str]:
    return {"user_id": str(w.service.anna_id)}


def the_free_evse(w: World) -> dict[str, str]:
    return {"evse_id": w.free_evse_id}


def to_the_group(w: World) -> dict[str, str]:
    return {"group_id": w.group_id}


def saturday_nights(w: World) -> dict[str, Any]:
    return {"windows": [NIGHT]}


def later_evenings(w: World) -> dict[str, Any]:
    return {"old": EVENING, "new": {**EVENING, "start": "17:30"}}


def half_an_hour(w: World) -> dict[str, int]:
    return {"duration_minutes": 30}


def a_charger_password(w: World) -> dict[str, str]:
    return {"password": "charger-password-1234"}


E = Endpoint
ENDPOINTS = [
    # accounts
    E("POST", "/api/auth/login", PUBLIC, body=anna_logs_in),
    E("POST", "/api/auth/logout", PUBLIC, ok=204),
    E("GET", "/api/auth/me", LOGGED_IN),
    # A wrong current password: callers who may use it get 422, anonymous ones 401.
    E("POST", "/api/auth/password", LOGGED_IN, ok=422, body=a_wrong_current_password),
    E("GET", "/api/invitations/{token}", PUBLIC),
    E("POST", "/api/invitations/{token}/accept", PUBLIC, body=a_password),
    # forgotten passwords: the same 202 for any e-mail; an invitation's token is no reset link
    E("POST", "/api/auth/password-reset", PUBLIC, ok=202, body=nobodys_email),
    E("GET", "/api/password-resets/{token}", PUBLIC, ok=410),
    E("POST", "/api/password-resets/{token}", PUBLIC, ok=410, body=a_password),
    # operator portal: users
    E("GET", "/api/operator/users", OPERATOR),
    E("GET", "/api/operator/users/autocomplete", OPERATOR),
    E("POST", "/api/operator/users", OPERATOR, ok=201, body=a_new_user),
    E("GET", "/api/operator/users/{user_id}", OPERATOR),
    E("POST", "/api/operator/users/{user_id}/resend", OPERATOR),
    E("POST", "/api/operator/users/{user_id}/revoke", OPERATOR),
    E("GET", "/api/operator/users/{user_id}/audit", OPERATOR),
    # operator portal: operators
    E("GET", "/api/operator/operators", OPERATOR),
    E("POST", "/api/operator/operators/{user_id}/disable", OPERATOR, params=the_colleague),
    E("POST", "/api/operator/operators/{user_id}/enable", OPERATOR, params=the_colleague),
    # operator portal: EVSEs
    E("GET", "/api/operator/evses", OPERATOR),
    E("POST", "/api/operator/evses", OPERATOR, ok=201, body=a_new_evse),
    E("GET", "/api/operator/evses/{evse_id}", OPERATOR),
    E("PUT", "/api/operator/evses/{evse_id}/limits", OPERATOR, body=single_phase_16_a),
    E("POST", "/api/operator/evses/{evse_id}/move", OPERATOR, body=to_the_group),
    E("DELETE", "/api/operator/evses/{evse_id}", OPERATOR, ok=204),
    # operator portal: groups
    E("GET", "/api/operator/groups", OPERATOR),
    E("POST", "/api/operator/groups", OPERATOR, ok=201, body=a_new_group),
    E("GET", "/api/operator/groups/{group_id}", OPERATOR),
    E("PATCH", "/api/operator/groups/{group_id}", OPERATOR, body=a_new_name),
    E("DELETE", "/api/operator/groups/{group_id}", OPERATOR, ok=204),
    E("PUT", "/api/operator/groups/{group_id}/home-user", OPERATOR, body=anna),
    E("DELETE", "/api/operator/groups/{group_id}/home-user/{user_id}", OPERATOR, params=her),
    # Anna has set her password: nothing to resend, and the answer says so.
    E("POST", "/api/operator/groups/{group_id}/home-user/resend", OPERATOR, ok=409),
    E("POST", "/api/operator/groups/{group_id}/evses", OPERATOR, body=the_free_evse),
    E("DELETE", "/api/operator/groups/{group_id}/evses/{evse_id}", OPERATOR, params=her_evse),
    E("GET", "/api/operator/groups/{group_id}/exclusion-times", OPERATOR),
    E("PUT", "/api/operator/groups/{group_id}/exclusion-times", OPERATOR, body=saturday_nights),
    E("PATCH", "/api/operator/groups/{group_id}/exclusion-times", OPERATOR, body=later_evenings),
    E("POST", "/api/operator/groups/{group_id}/priority-charge", OPERATOR, body=half_an_hour),
    E("DELETE", "/api/operator/groups/{group_id}/priority-charge", OPERATOR),
    E("GET", "/api/operator/groups/{group_id}/audit", OPERATOR),
    E("GET", "/api/operator/groups/{group_id}/schedule", OPERATOR),
    # operator portal: chargers (no gateway holds this one's connection: 409 for the operator)
    E("GET", "/api/operator/chargers", OPERATOR),
    E("PUT", "/api/operator/chargers/{charge_point_id}/password", OPERATOR, ok=204,
      body=a_charger_password),
    E("POST", "/api/operator/chargers/{charge_point_id}/composite-schedule", OPERATOR, ok=409),
    # consumer portal
    E("GET", "/api/me/groups", HOME_USER),
    E("GET", "/api/me/groups/{group_id}", HOME_USER),
    E("GET", "/api/me/groups/{group_id}/exclusion-times", HOME_USER),
    E("PUT", "/api/me/groups/{group_id}/exclusion-times", HOME_USER, body=saturday_nights),
    E("PATCH", "/api/me/groups/{group_id}/exclusion-times", HOME_USER, body=later_evenings),
    E("POST", "/api/me/groups/{group_id}/priority-charge", HOME_USER, body=half_an_hour),
    E("DELETE", "/api/me/groups/{group_id}/priority-charge", HOME_USER),
    E("GET", "/api/me/groups/{group_id}/audit", HOME_USER),
    E("GET", "/api/me/groups/{group_id}/schedule", HOME_USER),
]  # fmt: skip


def expected_status(endpoint: Endpoint, role: str) -> int:
    if endpoint.audience == PUBLIC:
        return endpoint.ok
    if role == "anonymous":
        return 401
    if endpoint.audience == LOGGED_IN:
        return endpoint.ok
    if endpoint.audience == OPERATOR:
        return endpoint.ok if role == "operator" else 403
    if role == "operator":
        return 403
    if role == "home user, other's group" and "{group_id}" in endpoint.path:
        return 404  # not 403: whether another user's group exists is none of his business
    return endpoint.ok


def stored_state(w: World) -> tuple[Any, ...]:
    """The last recorded event, and Anna's group as the event store and the read model hold it."""
    runtime = w.runtime
    group = runtime.service.group(uuid.UUID(w.group_id))
    return (
        runtime.service.recorder.max_notification_id(),
        group.version,
        runtime.context.queries.group(uuid.UUID(w.group_id)),
    )


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_each_caller_gets_what_the_endpoint_allows(
    world: World, endpoint: Endpoint, role: str
) -> None:
    expected = expected_status(endpoint, role)
    before = stored_state(world)

    answer = endpoint.call(world.clients[role], world)

    assert answer.status_code == expected, f"{endpoint} as {role}: {answer.text}"
    if expected >= 400:
        assert answer.json()["detail"], "a refusal says why"
        assert stored_state(world) == before, f"{endpoint} as {role} changed what is stored"


def test_the_matrix_lists_every_api_route(service: Service) -> None:
    routes = {
        (method, route.path)
        for route in iter_route_contexts(service.runtime.api.routes)
        if (route.path or "").startswith("/api/")
        for method in route.methods or ()
    }
    listed = {(endpoint.method, endpoint.path) for endpoint in ENDPOINTS}

    assert routes - listed == set(), "add these routes to ENDPOINTS"
    assert listed - routes == set(), "ENDPOINTS lists routes that no longer exist"


# --- details the matrix does not show ------------------------------------------------------


def test_my_groups_lists_only_the_home_users_own_groups(world: World) -> None:
    mine = world.clients["home user, own group"].get("/api/me/groups").json()
    theirs = world.clients["home user, other's group"].get("/api/me/groups").json()

    assert world.group_id in {group["id"] for group in mine}
    assert world.other_group_id not in {group["id"] for group in mine}
    assert world.group_id not in {group["id"] for group in theirs}
    assert world.other_group_id in {group["id"] for group in theirs}


@pytest.mark.parametrize("suffix", ["", "/exclusion-times", "/audit"])
def test_another_users_group_looks_exactly_like_a_missing_one(world: World, suffix: str) -> None:
    stranger = world.clients["home user, other's group"]
    missing = str(uuid.uuid4())

    someone_elses = stranger.get(f"/api/me/groups/{world.group_id}{suffix}")
    nobodys = stranger.get(f"/api/me/groups/{missing}{suffix}")

    assert someone_elses.status_code == nobodys.status_code == 404
    assert someone_elses.json() == {"detail": f"group {world.group_id} not found"}
    assert nobodys.json() == {"detail": f"group {missing} not found"}


def test_a_home_user_cannot_act_on_another_group_by_naming_it_in_the_body(world: World) -> None:
    """Operator endpoints are closed to home users even where the body is what names the target."""
    stranger = world.clients["home user, other's group"]
    before = stored_state(world)

    answers = [
        stranger.put(
            f"/api/operator/groups/{world.group_id}/home-user",
            json={"user_id": str(world.service.bob_id)},
        ),
        stranger.post(
            f"/api/operator/groups/{world.other_group_id}/evses",
            json={"evse_id": world.group_evse_id},
        ),
    ]

    assert [answer.status_code for answer in answers] == [403, 403]
    assert stored_state(world) == before


def test_a_logged_out_or_unknown_token_is_anonymous(world: World) -> None:
    anna = world.clients["home user, own group"]
    assert anna.get("/api/me/groups").status_code == 200
    assert anna.post("/api/auth/logout").status_code == 204

    after_logout = anna.get("/api/me/groups")
    forged = httpx.get(
        f"{world.service.url}/api/me/groups", headers={"Authorization": "Bearer forged"}
    )

    assert after_logout.status_code == forged.status_code == 401
    assert after_logout.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_home_user_is_logged_out_everywhere(world: World) -> None:
    user_id, token = world.runtime.service.accounts.invite_home_user(
        f"leaving-{world.n}@example.com", Actor.operator(world.service.operator_id)
    )
    world.runtime.service.accounts.accept_invitation(token, PASSWORD)
    with bearer(world.runtime, world.service.url, user_id) as leaving:
        assert leaving.get("/api/me/groups").status_code == 200

        revoked = world.clients["operator"].post(f"/api/operator/users/{user_id}/revoke")

        assert revoked.status_code == 200, revoked.text
        assert leaving.get("/api/me/groups").status_code == 401
    login = httpx.post(
        f"{world.service.url}/api/auth/login",
        json={"email": f"leaving-{world.n}@example.com", "password": PASSWORD},
    )
    assert login.status_code == 401
