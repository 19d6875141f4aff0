"""Users, invitations, passwords and login: how people get into the portals, and out again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.actors import Actor, Role
from domain.errors import (
    EmailAlreadyRegistered,
    Forbidden,
    InvalidInput,
    InvitationInvalid,
    NotFound,
)
from domain.service import SmartCharging
from domain.users import Invitation, User, hash_token, user_id_for
from domain_strategies import ManualClock

PASSWORD = "correct horse"


def stored_states(app: SmartCharging) -> list[bytes]:
    """Every event as the store holds it."""
    return [n.state for n in app.recorder.select_notifications(start=1, limit=10_000)]


def all_events(app: SmartCharging) -> list[Any]:
    return [
        app.mapper.to_domain_event(n)
        for n in app.recorder.select_notifications(start=1, limit=10_000)
    ]


# --- operators -------------------------------------------------------------------------------


def test_an_operator_is_added_with_a_hashed_password_and_can_log_in(
    app: SmartCharging, operator: Actor
) -> None:
    user_id = app.accounts.add_operator("  Ops@Example.COM ", "operator-pass-7", operator)

    user = app.user(user_id)
    assert (user.email, user.role, user.status) == ("ops@example.com", Role.OPERATOR, "active")
    assert user_id == user_id_for("ops@example.com")
    assert user.password_hash and "operator-pass-7" not in user.password_hash
    assert not any(b"operator-pass-7" in state for state in stored_states(app))
    assert app.accounts.authenticate("ops@example.com", "operator-pass-7") == user


@pytest.mark.parametrize(
    "password", ["", "short12", None, 12345678, "x" * 1025, "pass\x00word", "pass\ud800word"]
)
def test_a_weak_or_absurd_password_is_refused_and_nothing_is_stored(
    app: SmartCharging, operator: Actor, password: Any
) -> None:
    with pytest.raises(InvalidInput, match="password"):
        app.accounts.add_operator("ops@example.com", password, operator)
    assert app.recorder.max_notification_id() is None


@pytest.mark.parametrize(
    "email",
    [
        "",
        "ops",
        "ops@",
        "@example.com",
        "ops@example",
        "o ps@example.com",
        "ops\x00@example.com",
        "ops@exa\x7fmple.com",
        "a@b@example.com",
        None,
        "x" * 65 + "@example.com",
        "ops@" + "d" * 250 + ".com",
        "ops@example.com\n",
        "ops\x85@example.com",
        "ops\ud800@example.com",
    ],
)
def test_a_malformed_email_is_refused(app: SmartCharging, operator: Actor, email: Any) -> None:
    with pytest.raises(InvalidInput, match="email"):
        app.accounts.add_operator(email, "operator-pass-7", operator)
    with pytest.raises(InvalidInput, match="email"):
        app.accounts.invite_home_user(email, operator)


def test_a_password_may_hold_any_printable_character(app: SmartCharging, operator: Actor) -> None:
    password = "  ünï cødé 🔌 \"'<>&;  "
    app.accounts.add_operator("ops@example.com", password, operator)

    assert app.accounts.authenticate("ops@example.com", password) is not None


def test_a_16_kb_email_is_refused_in_few_words(app: SmartCharging, operator: Actor) -> None:
    with pytest.raises(InvalidInput, match="email: at most 254 characters") as refusal:
        app.accounts.invite_home_user("o" * 16_000 + "@example.com", operator)

    assert len(str(refusal.value)) < 100


def test_an_email_is_registered_once_whatever_its_case(app: SmartCharging, operator: Actor) -> None:
    app.accounts.add_operator("ops@example.com", "operator-pass-7", operator)
    recorded = app.recorder.max_notification_id()  # the account, and the operator roster

    with pytest.raises(EmailAlreadyRegistered, match=r"ops@example\.com already has an account"):
        app.accounts.add_operator("OPS@example.com", "another-pass-7", operator)
    with pytest.raises(EmailAlreadyRegistered):
        app.accounts.invite_home_user("Ops@Example.com", operator)
    assert app.recorder.max_notification_id() == recorded  # nothing more


# --- invitations -------------------------------------------------------------------------------


def test_inviting_a_home_user_returns_a_token_that_is_stored_only_as_its_hash(
    app: SmartCharging, operator: Actor, clock: ManualClock
) -> None:
    user_id, token = app.accounts.invite_home_user("Anna@Example.com", operator)

    user = app.user(user_id)
    assert (user.email, user.role, user.status) == ("anna@example.com", Role.HOME_USER, "invited")
    invitation = app.accounts.invitation(token)
    assert invitation.id == user.invitation_id
    assert (invitation.user_id, invitation.token_hash) == (user_id, hash_token(token))
    assert invitation.expires_at == clock.now + timedelta(days=7)
    assert len(token) >= 32
    assert not any(token.encode() in state for state in stored_states(app))


def test_the_invitation_lifetime_comes_from_the_environment(clock: ManualClock) -> None:
    app = SmartCharging(env={"INVITATION_VALID_DAYS": "2"}, clock=clock)

    _, token = app.accounts.invite_home_user("anna@example.com", Actor.system())

    assert app.accounts.invitation(token).expires_at == clock.now + timedelta(days=2)


def test_accepting_an_invitation_sets_the_password_and_activates_the_user(
    app: SmartCharging, operator: Actor
) -> None:
    user_id, token = app.accounts.invite_home_user("anna@example.com", operator)

    assert app.accounts.accept_invitation(token, PASSWORD) == user_id

    assert app.user(user_id).status == "active"
    assert app.accounts.authenticate("anna@example.com", PASSWORD).id == user_id
    accepted = list(app.events.get(app.user(user_id).invitation_id))[-1]
    assert (type(accepted).__name__, accepted.actor) == ("Accepted", Actor.home_user(user_id))


def test_an_invitation_is_used_only_once(app: SmartCharging, operator: Actor) -> None:
    _, token = app.accounts.invite_home_user("anna@example.com", operator)
    app.accounts.accept_invitation(token, PASSWORD)

    with pytest.raises(InvitationInvalid, match="already used"):
        app.accounts.accept_invitation(token, "someone else's")
    assert app.accounts.authenticate("anna@example.com", PASSWORD) is not None


def test_an_invitation_expires_after_seven_days(
    app: SmartCharging, operator: Actor, clock: ManualClock
) -> None:
    _, token = app.accounts.invite_home_user("anna@example.com", operator)
    clock.advance(timedelta(days=7))

    with pytest.raises(InvitationInvalid, match="expired"):
        app.accounts.accept_invitation(token, PASSWORD)


def test_an_invitation_is_still_good_just_before_it_expires(
    app: SmartCharging, operator: Actor, clock: ManualClock
) -> None:
    user_id, token = app.accounts.invite_home_user("anna@example.com", operator)
    clock.advance(timedelta(days=7) - timedelta(seconds=1))

    assert app.accounts.accept_invitation(token, PASSWORD) == user_id
    assert app.user(user_id).status == "active"


@pytest.mark.parametrize(
    "token",
    ["not-a-token", "", None, "\x00", "\ud800", "t" * 16_000],
    ids=["unknown", "empty", "None", "NUL", "UTF-16 half", "16 KB"],
)
def test_an_unknown_token_is_refused(app: SmartCharging, operator: Actor, token: Any) -> None:
    app.accounts.invite_home_user("anna@example.com", operator)

    with pytest.raises(InvitationInvalid, match="not valid"):
        app.accounts.accept_invitation(token, PASSWORD)


def test_a_weak_password_leaves_the_invitation_usable(app: SmartCharging, operator: Actor) -> None:
    _, token = app.accounts.invite_home_user("anna@example.com", operator)

    with pytest.raises(InvalidInput, match="password"):
        app.accounts.accept_invitation(token, "short")

    app.accounts.accept_invitation(token, PASSWORD)


def test_resending_withdraws_the_old_invitation(app: SmartCharging, operator: Actor) -> None:
    user_id, old_token = app.accounts.invite_home_user("anna@example.com", operator)

    new_token = app.accounts.resend_invitation(user_id, operator)

    assert new_token != old_token
    with pytest.raises(InvitationInvalid, match="withdrawn"):
        app.accounts.accept_invitation(old_token, PASSWORD)
    assert app.accounts.accept_invitation(new_token, PASSWORD) == user_id


def test_inviting_the_same_email_again_reissues_the_invitation(
    app: SmartCharging, operator: Actor
) -> None:
    user_id, old_token = app.accounts.invite_home_user("anna@example.com", operator)

    again_id, new_token = app.accounts.invite_home_user("ANNA@example.com", operator)

    assert again_id == user_id
    with pytest.raises(InvitationInvalid):
        app.accounts.invitation(old_token)
    assert app.accounts.invitation(new_token).user_id == user_id


def invited_meanwhile(app: SmartCharging, email: str, operator: Actor) -> None:
    """The next check for `email`'s account finds none, and another operator's invitation
    of it is saved right after: the interleaving of two operators inviting at once."""
    user_id = user_id_for(email)
    checked = app.exists

    def exists(aggregate_id: UUID) -> bool:
        if aggregate_id != user_id:
            return checked(aggregate_id)
        app.exists = checked  # type: ignore[method-assign]
        assert not checked(aggregate_id)
        app.accounts.invite_home_user(email, operator)
        return False

    app.exists = exists  # type: ignore[method-assign]


def test_two_operators_inviting_one_email_at_once_both_succeed_and_the_later_invitation_counts(
    app: SmartCharging, operator: Actor
) -> None:
    invited_meanwhile(app, "anna@example.com", operator)

    user_id, token = app.accounts.invite_home_user("anna@example.com", operator)

    assert user_id == user_id_for("anna@example.com")
    invitation = app.accounts.invitation(token)  # the racing one's link stopped working
    assert (invitation.user_id, app.user(user_id).invitation_id) == (user_id, invitation.id)


def test_a_group_made_while_its_new_home_user_is_invited_elsewhere_joins_that_account(
    app: SmartCharging, operator: Actor
) -> None:
    invited_meanwhile(app, "anna@example.com", operator)

    group_id, _ = app.groups.create_group(
        name="Anna", time_zone="UTC", actor=operator, invite_email="anna@example.com"
    )

    assert app.group(group_id).home_user_id == user_id_for("anna@example.com")


def test_an_active_user_is_neither_reinvited_nor_sent_a_new_invitation(
    app: SmartCharging, operator: Actor
) -> None:
    user_id, token = app.accounts.invite_home_user("anna@example.com", operator)
    app.accounts.accept_invitation(token, PASSWORD)

    with pytest.raises(EmailAlreadyRegistered, match="already accepted"):
        app.accounts.resend_invitation(user_id, operator)
    with pytest.raises(EmailAlreadyRegistered):
        app.accounts.invite_home_user("anna@example.com", operator)


def test_operators_are_not_invited(app: SmartCharging, operator: Actor) -> None:
    operator_id = app.accounts.add_operator("ops@example.com", "operator-pass-7", operator)

    with pytest.raises(InvalidInput, match="only home users"):
        app.accounts.resend_invitation(operator_id, operator)
    with pytest.raises(NotFound):
        app.accounts.resend_invitation(uuid4(), operator)


# --- revoke --------------------------------------------------------------------------------------


def test_a_revoked_user_can_no_longer_log_in(app: SmartCharging, operator: Actor) -> None:
    user_id, token = app.accounts.invite_home_user("anna@example.com", operator)
    app.accounts.accept_invitation(token, PASSWORD)

    app.accounts.revoke_user(user_id, operator)

    user = app.user(user_id)
    assert (user.status, user.password_hash) == ("revoked", None)
    assert app.accounts.authenticate("anna@example.com", PASSWORD) is None


def test_revoking_withdraws_the_open_invitation(app: SmartCharging, operator: Actor) -> None:
    user_id, token = app.accounts.invite_home_user("anna@example.com", operator)

    app.accounts.revoke_user(user_id, operator)

    with pytest.raises(InvitationInvalid, match="withdrawn"):
        app.accounts.accept_invitation(token, PASSWORD)
    assert app.user(user_id).status == "revoked"


def test_revoking_twice_records_one_revocation(app: SmartCharging, operator: Actor) -> None:
    user_id, _ = app.accounts.invite_home_user("anna@example.com", operator)
    app.accounts.revoke_user(user_id, operator)

    app.accounts.revoke_user(user_id, operator)

    assert [type(e).__name__ for e in app.events.get(user_id)].count("Revoked") == 1


def test_operators_are_not_revoked_here(app: SmartCharging, operator: Actor) -> None:
    operator_id = app.accounts.add_operator("ops@example.com", "operator-pass-7", operator)

    with pytest.raises(InvalidInput, match="operators are not revoked"):
        app.accounts.revoke_user(operator_id, operator)


# --- login --------------------------------------------------------------------------------


@pytest.fixture
def anna(app: SmartCharging, operator: Actor) -> UUID:
    user_id, token = app.accounts.invite_home_user("anna@example.com", operator)
    app.accounts.accept_invitation(token, PASSWORD)
    return user_id


@pytest.mark.parametrize("email", ["anna@example.com", "ANNA@Example.Com", "  anna@example.com "])
def test_login_ignores_the_case_of_the_email(app: SmartCharging, anna: UUID, email: str) -> None:
    user = app.accounts.authenticate(email, PASSWORD)

    assert user is not None and user.id == anna


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("anna@example.com", "wrong password"),
        ("anna@example.com", PASSWORD.upper()),
        ("nobody@example.com", PASSWORD),
        ("not an e-mail", PASSWORD),
    ],
)
def test_login_with_a_wrong_password_or_unknown_email_fails_alike(
    app: SmartCharging, anna: UUID, email: str, password: str
) -> None:
    assert app.accounts.authenticate(email, password) is None


@pytest.mark.parametrize(
    "password", ["\ud800" * 8, "x" * 16_000, None], ids=["UTF-16 halves", "16 KB", "None"]
)
def test_login_with_a_password_no_account_can_have_fails_without_an_error(
    app: SmartCharging, anna: UUID, password: Any
) -> None:
    assert app.accounts.authenticate("anna@example.com", password) is None


def test_a_current_password_no_account_can_have_is_simply_wrong(
    app: SmartCharging, anna: UUID
) -> None:
    with pytest.raises(InvalidInput, match="not your current password"):
        app.accounts.change_password(anna, "\ud800" * 8, "new password 42")
    assert app.accounts.authenticate("anna@example.com", PASSWORD) is not None


def test_an_invited_user_cannot_log_in_before_accepting(
    app: SmartCharging, operator: Actor
) -> None:
    app.accounts.invite_home_user("anna@example.com", operator)

    assert app.accounts.authenticate("anna@example.com", "") is None
    assert app.accounts.authenticate("anna@example.com", PASSWORD) is None


# --- who may do what, and the audit trail --------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        lambda app, a: app.accounts.add_operator("new@example.com", "operator-pass-7", a),
        lambda app, a: app.accounts.invite_home_user("new@example.com", a),
        lambda app, a: app.accounts.resend_invitation(a.user_id, a),
        lambda app, a: app.accounts.revoke_user(a.user_id, a),
    ],
)
def test_a_home_user_may_not_manage_accounts(
    app: SmartCharging, anna: UUID, command: Callable[[SmartCharging, Actor], Any]
) -> None:
    before = app.recorder.max_notification_id()

    with pytest.raises(Forbidden):
        command(app, Actor.home_user(anna))
    assert app.recorder.max_notification_id() == before


def test_every_user_and_invitation_event_names_its_actor_and_time(
    app: SmartCharging, operator: Actor
) -> None:
    operator_id = app.accounts.add_operator("ops@example.com", "operator-pass-7", Actor.system())
    ops = Actor.operator(operator_id)
    user_id, token = app.accounts.invite_home_user("anna@example.com", ops)
    token = app.accounts.resend_invitation(user_id, ops)
    app.accounts.accept_invitation(token, PASSWORD)
    app.accounts.revoke_user(user_id, ops)

    events = all_events(app)
    assert {type(e).__qualname__ for e in events} >= {
        "User.Registered",
        "User.PasswordSet",
        "User.Invited",
        "User.Revoked",
        "Invitation.Issued",
        "Invitation.Withdrawn",
        "Invitation.Accepted",
    }
    for event in events:
        assert isinstance(event.actor, Actor), event
        assert event.timestamp.tzinfo is not None
    by_user = {e.actor for e in events if isinstance(e, User.Invited | Invitation.Issued)}
    assert by_user == {ops}
    assert {e.actor for e in events if isinstance(e, Invitation.Accepted)} == {
        Actor.home_user(user_id)
    }
    assert events[0].actor == Actor.system()
