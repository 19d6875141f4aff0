"""The gateway's pure parts: frames, the bad-frame bound, the delivery plan, the handshake."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from unittest.mock import MagicMock

import pytest
from ocpp.messages import Call, CallError, CallResult

from chargers.auth import BadIdentity, basic_password, charge_point_id_from
from chargers.connection import GatewayContext, utc_timestamp
from chargers.delivery import Held, Reason, Step, already_held, plan
from chargers.frames import FrameError, FrameGuard, call_error, error_code, parse_frame
from chargers.gateway import Gateway, PortInUse, gateway_id_at, select_subprotocol
from chargers.v16 import capabilities_from as capabilities16
from chargers.v201 import capabilities_from as capabilities201
from domain.charging_profiles import ChargingProfile, ChargingSchedulePeriod

# --- frames ---------------------------------------------------------------------------------


def test_a_call_result_and_error_are_read():
    assert isinstance(parse_frame('[2,"a","Heartbeat",{}]'), Call)
    assert isinstance(parse_frame('[3,"a",{"x":1}]'), CallResult)
    assert isinstance(parse_frame('[4,"a","GenericError","",{}]'), CallError)
    assert isinstance(parse_frame(b'[2,"a","Heartbeat",{}]'), Call)


@pytest.mark.parametrize(
    ("raw", "code", "message_id"),
    [
        ("not json", "RpcFrameworkError", "-1"),
        (b"\xff\xfe", "RpcFrameworkError", "-1"),
        ('{"a": 1}', "RpcFrameworkError", "-1"),
        ("[]", "RpcFrameworkError", "-1"),
        ("[2]", "RpcFrameworkError", "-1"),
        ('[2, 17, "Heartbeat", {}]', "RpcFrameworkError", "-1"),
        (json.dumps([2, "x" * 37, "Heartbeat", {}]), "RpcFrameworkError", "-1"),
        ('[2,"m","Heartbeat"]', "FormatViolation", "m"),
        ('[2,"m",["Heartbeat"],{}]', "FormatViolation", "m"),
        ('[2,"m","Heartbeat",[]]', "FormatViolation", "m"),
        ('[3,"m"]', "FormatViolation", "m"),
        ('[5,"m",{}]', "MessageTypeNotSupported", "m"),
        ('["2","m","Heartbeat",{}]', "MessageTypeNotSupported", "m"),
        # Python's reader takes these; JSON and the `ocpp` library do not. The id at the
        # frame's start is read all the same (OCPP-J 2.0.1 §4.2.3: "-1" only if it cannot be)
        ('[2,"m","Heartbeat",{"x":NaN}]', "FormatViolation", "m"),
        ('[2,"m","Heartbeat",{"x":1' + "0" * 5000 + "}]", "FormatViolation", "m"),
        ('[3, "m", {"x":1' + "0" * 5000 + "}]", "FormatViolation", "m"),
        ('[2,"m","Heartbeat",' + "[" * 100_000 + "]" * 100_000 + "]", "FormatViolation", "m"),
        ("[" * 100_000 + "]" * 100_000, "RpcFrameworkError", "-1"),
        (b'[2,"m","Heartbeat",{"x":"\xff"}]', "FormatViolation", "m"),
        ('[2,"m","Heartbeat",{"x":1e400}]', "FormatViolation", "m"),
        ('[2,"m","Heartbeat",{"x":' + "[" * 40 + "]" * 40 + "}]", "FormatViolation", "m"),
        ('[3,"m",{"x":' + "[" * 40 + "]" * 40 + "}]", "FormatViolation", "m"),
    ],
)
def test_a_bad_frame_is_refused_with_its_id_when_readable(raw, code, message_id):
    with pytest.raises(FrameError) as refused:
        parse_frame(raw)
    assert (refused.value.code, refused.value.message_id) == (code, message_id)


def test_error_codes_take_the_words_of_each_version():
    assert error_code("FormatViolation", "1.6") == "FormationViolation"
    assert error_code("OccurrenceConstraintViolation", "1.6") == "OccurenceConstraintViolation"
    assert error_code("RpcFrameworkError", "1.6") == "FormationViolation"
    assert error_code("NotSupported", "1.6") == "NotSupported"
    assert error_code("SomethingNew", "1.6") == "GenericError"
    assert error_code("RpcFrameworkError", "2.0.1") == "RpcFrameworkError"
    assert json.loads(call_error("-1", "FormatViolation", "bad", "1.6")) == [
        4,
        "-1",
        "FormationViolation",
        "bad",
        {},
    ]


def test_the_guard_cuts_off_only_past_the_limit_within_the_window():
    now = [0.0]
    guard = FrameGuard(limit=3, window=60.0, clock=lambda: now[0])
    assert [guard.strike() for _ in range(3)] == [False, False, False]
    assert guard.strike()
    now[0] = 61.0  # the old strikes have left the window
    assert not guard.strike()


# --- the delivery plan ----------------------------------------------------------------------


def profile(profile_id: int, stack_level: int = 1, limit: float = 16.0) -> ChargingProfile:
    return ChargingProfile(
        profile_id=profile_id,
        stack_level=stack_level,
        purpose="TxDefaultProfile",
        kind="Absolute",
        recurrency_kind=None,
        valid_from=None,
        valid_to=None,
        rate_unit="A",
        start_schedule=datetime(2030, 1, 7, tzinfo=UTC),
        duration=None,
        periods=(ChargingSchedulePeriod(0, limit),),
    )


# The ids of the exclusion profiles sent ahead for later offset periods, on connector 1.
AHEAD = (1014, 1015)


def held_after(*answered: tuple[Step, str]) -> Held:
    """What a connection knows after these answers, the ids sent ahead known cleared."""
    held = Held()
    for step, status in (*((Step(i, None), "Accepted") for i in AHEAD), *answered):
        held.answered(step, status)
    return held


def test_a_new_connection_clears_our_other_ids_then_sets_every_desired_profile():
    steps = plan([profile(1011)], 3, Held(), 1, {Reason.CONNECTED}, sent_version=3)
    assert steps == [
        Step(1012, None),
        Step(1013, None),
        *(Step(i, None) for i in AHEAD),
        Step(1011, profile(1011)),
    ]


def test_desired_profiles_already_sent_on_this_connection_are_not_sent_again():
    assert plan([profile(1011)], 3, Held(), 1, {Reason.DESIRED}, sent_version=3) == []
    assert len(plan([profile(1011)], 4, Held(), 1, {Reason.DESIRED}, sent_version=3)) == 5


def test_only_what_changed_is_sent_and_only_ids_the_charger_may_hold_are_cleared():
    exclusion, cover, priority = profile(1011), profile(1013, 0), profile(1012, 2)
    held = held_after(
        (Step(1012, None), "Accepted"),
        (Step(1013, cover), "Accepted"),
        (Step(1011, exclusion), "Accepted"),
    )
    # A priority charge starts: its profile alone.
    started = plan([exclusion, priority, cover], 4, held, 1, {Reason.DESIRED}, sent_version=3)
    assert started == [Step(1012, priority)]
    held.answered(started[0], "Accepted")
    # It ends: its id alone is cleared.
    assert plan([exclusion, cover], 5, held, 1, {Reason.DESIRED}, sent_version=4) == [
        Step(1012, None)
    ]


def test_an_id_whose_call_failed_may_hold_anything():
    exclusion = profile(1011)
    held = held_after((Step(1011, exclusion), "Timeout"), (Step(1012, None), "Error"))
    held.answered(Step(1015, None), "Timeout")
    assert plan([exclusion], 2, held, 1, {Reason.RETRY}, sent_version=2) == [
        Step(1012, None),
        Step(1013, None),
        Step(1015, None),
        Step(1011, exclusion),
    ]


def test_after_a_dst_change_only_the_period_new_at_the_end_is_set_in_the_ended_ones_place():
    """The period in force and the next were sent ahead; the one that ended (1011, level
    1) is replaced by the period after the last (the same id and level, another validity)."""
    ended, now, next_ = profile(1011), profile(1014, 2), profile(1015, 3)
    held = held_after(
        (Step(1012, None), "Accepted"),
        (Step(1013, None), "Accepted"),
        (Step(1011, ended), "Accepted"),
        (Step(1014, now), "Accepted"),
        (Step(1015, next_), "Accepted"),
    )
    later = profile(1011, limit=10.0)
    steps = plan([now, next_, later], 4, held, 1, {Reason.DESIRED}, sent_version=3)
    assert steps == [Step(1011, later)]


def test_a_profile_set_at_the_stack_level_of_another_id_replaces_it():
    """OCPP 1.6 §3.13.2: with stack levels 0 and 1, the priority profile takes the exclusion
    profile's level; the charger no longer holds the exclusion profile, nor needs it
    cleared once that is known."""
    exclusion, priority, cover = profile(1011), profile(1012), profile(1013, 0)
    held = held_after((Step(1011, exclusion), "Accepted"), (Step(1013, cover), "Accepted"))
    held.answered(Step(1012, priority), "Accepted")
    assert not held.holds(exclusion) and not held.may_hold(1011)
    assert held.holds(cover) and held.holds(priority)
    # The priority's end: its level is freed first, then the exclusion profile set again.
    assert plan([exclusion, cover], 3, held, 1, {Reason.DESIRED}, sent_version=2) == [
        Step(1012, None),
        Step(1011, exclusion),
    ]


def test_a_retry_sends_what_was_not_accepted():
    exclusion, priority = profile(1011), profile(1012, 2)
    held = held_after(
        (Step(1013, None), "Accepted"),
        (Step(1011, exclusion), "Accepted"),
        (Step(1012, priority), "Timeout"),
    )
    assert plan([exclusion, priority], 2, held, 1, {Reason.RETRY}, sent_version=2) == [
        Step(1012, priority)
    ]


def test_a_profile_held_already_is_answered_for_the_new_version_without_a_call():
    exclusion, priority = profile(1011), profile(1012, 2)
    held = held_after((Step(1011, exclusion), "Accepted"))
    answers = {1012: {"status": "Accepted"}}
    assert already_held([exclusion, priority], answers, held) == [1011]
    assert already_held([exclusion], {1011: {"status": "Accepted"}}, held) == []


def test_nothing_is_sent_before_the_scheduler_decided():
    assert plan([], 0, Held(), 1, {Reason.CONNECTED}, sent_version=None) == []


def test_an_evse_desiring_nothing_has_all_our_profiles_cleared():
    assert plan([], 5, Held(), 2, {Reason.DESIRED}, sent_version=None) == [
        Step(1021, None),
        Step(1022, None),
        Step(1023, None),
        Step(1024, None),
        Step(1025, None),
    ]


# --- the handshake --------------------------------------------------------------------------


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_the_charger_id_is_the_decoded_last_segment_of_the_endpoint():
    assert charge_point_id_from("/ocpp/CP001") == "CP001"
    assert charge_point_id_from("/ocpp/RDAM%20123?x=1") == "RDAM 123"
    assert charge_point_id_from("/ocpp/") is None
    assert charge_point_id_from("/ocpp/a/b") is None
    assert charge_point_id_from("/other/CP001") is None
    with pytest.raises(BadIdentity, match="UTF-8"):
        charge_point_id_from("/ocpp/%ff")
    for control in ("%00", "%0A", "%0D%0A", "%E2%80%A8", "%7F"):  # NUL, LF, CR LF, U+2028, DEL
        with pytest.raises(BadIdentity, match="control character"):
            charge_point_id_from(f"/ocpp/CP{control}forged")
    assert charge_point_id_from("/ocpp/" + "C" * 48) == "C" * 48  # OCPP 2.0.1: at most 48
    with pytest.raises(BadIdentity, match="over 48 characters"):
        charge_point_id_from("/ocpp/" + "C" * 49)


def test_the_basic_username_must_be_the_charger_id_which_may_hold_a_colon():
    assert basic_password(basic("CP:1:secret:with:colons"), "CP:1") == "secret:with:colons"
    assert basic_password(basic("CP2:secret"), "CP1") is None
    assert basic_password("Bearer abc", "CP1") is None
    assert basic_password("Basic !!!", "CP1") is None
    assert basic_password(None, "CP1") is None


def test_the_chargers_first_choice_of_subprotocol_wins():
    assert select_subprotocol(None, ["ocpp2.0.1", "ocpp1.6"]) == "ocpp2.0.1"  # type: ignore[arg-type]
    assert select_subprotocol(None, ["ocpp1.5", "ocpp1.6"]) == "ocpp1.6"  # type: ignore[arg-type]
    assert select_subprotocol(None, ["ocpp2.0"]) is None  # type: ignore[arg-type]


# --- values on the wire ---------------------------------------------------------------------


def test_timestamps_are_sent_in_utc_with_z():
    instant = datetime(2030, 3, 31, 3, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert utc_timestamp(instant) == "2030-03-31T01:30:15.123Z"
    assert utc_timestamp(datetime(2030, 1, 1, tzinfo=UTC)) == "2030-01-01T00:00:00.000Z"


def test_capabilities_are_read_from_the_configuration_keys():
    found = capabilities16(
        [
            {"key": "ChargingScheduleMaxPeriods", "readonly": True, "value": "48"},
            {"key": "ChargingScheduleAllowedChargingRateUnit", "value": "Power, Current"},
            {"key": "ChargeProfileMaxStackLevel", "value": "not a number"},
        ]
    )
    assert (found.max_periods, found.rate_units, found.max_stack_level) == (48, ("W", "A"), 10)
    assert found.notes == ("reported ChargeProfileMaxStackLevel = 'not a number'; using 10",)
    assert capabilities16(None).max_periods == 24


def test_capabilities_of_a_201_station_come_from_its_variables():
    found = capabilities201(
        [
            {
                "attribute_status": "Accepted",
                "attribute_value": "12",
                "variable": {"name": "PeriodsPerSchedule"},
            },
            {
                "attribute_status": "Accepted",
                "attribute_value": "A",
                "variable": {"name": "RateUnit"},
            },
            {"attribute_status": "UnknownVariable", "variable": {"name": "ProfileStackLevel"}},
        ]
    )
    assert (found.max_periods, found.rate_units, found.max_stack_level) == (12, ("A",), 10)
    assert found.notes == ("ProfileStackLevel not reported; using 10",)


def test_max_charging_profiles_installed_is_asked_with_the_other_keys():
    found = capabilities16(
        [
            {"key": "ChargingScheduleMaxPeriods", "value": "24"},
            {"key": "ChargingScheduleAllowedChargingRateUnit", "value": "Current"},
            {"key": "ChargeProfileMaxStackLevel", "value": "8"},
            {"key": "MaxChargingProfilesInstalled", "readonly": True, "value": "3"},
        ]
    )
    assert (found.max_profiles, found.notes) == (3, ())


def test_a_201_station_tells_its_profile_maximum_as_entries_of_charging_profiles():
    """2.0.1 Part 2 appendix: SmartChargingCtrlr.Entries, instance ChargingProfiles; its
    Actual (the profiles installed now) is no limit."""
    entries = {"name": "Entries", "instance": "ChargingProfiles"}
    maximum = {
        "attribute_status": "Accepted",
        "attribute_type": "MaxSet",
        "attribute_value": "4",
        "variable": entries,
    }
    actual = {"attribute_status": "Accepted", "attribute_value": "1", "variable": entries}
    assert capabilities201([actual, maximum]).max_profiles == 4
    assert capabilities201([actual]).max_profiles is None
    unknown = {
        "attribute_status": "UnknownVariable",
        "attribute_type": "MaxSet",
        "variable": entries,
    }
    assert capabilities201([unknown]).max_profiles is None
    nonsense = capabilities201([{**maximum, "attribute_value": "-5"}])
    assert nonsense.max_profiles is None
    assert "reported Entries[ChargingProfiles] = '-5'; using no limit" in nonsense.notes


# --- life cycle -----------------------------------------------------------------------------


def test_a_gateway_that_cannot_listen_says_why_and_forgets_nobody():
    context = GatewayContext(service=MagicMock(), queries=MagicMock(), gateway_id="unit")
    context.queries.chargers.return_value = [
        {"charge_point_id": "CP-1", "connected": True, "gateway_id": "unit"}
    ]
    context.service.recorder.max_notification_id.return_value = 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        gateway = Gateway(context, "127.0.0.1", port, None)
        with pytest.raises(PortInUse, match=f"127.0.0.1:{port}: address already in use"):
            gateway.start()
    gateway.stop()  # stopping a gateway that never ran is harmless
    context.service.chargers.charger_disconnected.assert_not_called()


def test_a_listening_gateway_forgets_the_connections_of_its_place_whose_process_ended():
    here = gateway_id_at("host:9000")
    ended = subprocess.Popen([sys.executable, "-c", ""])
    ended.wait()
    context = GatewayContext(service=MagicMock(), queries=MagicMock(), gateway_id=here)
    context.service.recorder.max_notification_id.return_value = 0
    context.queries.chargers.return_value = [
        {"charge_point_id": cp, "connected": connected, "gateway_id": gateway_id}
        for cp, connected, gateway_id in [
            ("CP-ENDED", True, f"host:9000:{ended.pid}"),
            ("CP-OLD-ID", True, "host:9000"),  # recorded before ids named the process
            ("CP-SAME-PID", True, here),  # an earlier process that had our pid
            ("CP-LIVING", True, f"host:9000:{os.getppid()}"),
            ("CP-OTHER-PORT", True, f"host:9001:{ended.pid}"),
            ("CP-OTHER-HOST", True, f"other:9000:{ended.pid}"),
            ("CP-LONGER-NAME", True, f"host:9000:x:{ended.pid}"),
            ("CP-OFFLINE", False, f"host:9000:{ended.pid}"),
            ("CP-NEVER", False, None),
        ]
    ]
    gateway = Gateway(context, "127.0.0.1", 0, None, place="host:9000")
    try:
        gateway.start()
    finally:
        gateway.stop()
    forgotten = [c.args for c in context.service.chargers.charger_disconnected.call_args_list]
    assert forgotten == [
        ("CP-ENDED", f"host:9000:{ended.pid}"),
        ("CP-OLD-ID", "host:9000"),
        ("CP-SAME-PID", here),
    ]


def test_sets_go_from_the_highest_stack_level_down_so_a_priority_moves_up_first():
    """More stack levels during a priority charge (an upgrade): the priority moves from level
    2 to 4 before a period sent ahead takes level 2 (OCPP 2.0.1 K01.FR.06 would refuse it
    while another id holds that level and purpose)."""
    exclusion, old_priority = profile(1011), profile(1012, 2)
    held = held_after((Step(1011, exclusion), "Accepted"), (Step(1012, old_priority), "Accepted"))
    ahead, later, new_priority = profile(1014, 2), profile(1015, 3), profile(1012, 4)
    steps = plan([exclusion, ahead, later, new_priority], 5, held, 1, {Reason.DESIRED}, 4)
    assert [step.profile_id for step in steps if step.profile is not None] == [1012, 1015, 1014]


def test_a_known_profile_on_a_level_another_id_takes_is_cleared_before():
    """Fewer levels: what goes away is cleared first, and a profile known to hold a level
    that another desired id takes is cleared before that id is set, then set in its turn."""
    held = held_after(
        (Step(1011, profile(1011)), "Accepted"),
        (Step(1014, profile(1014, 2)), "Accepted"),
        (Step(1012, profile(1012, 3)), "Accepted"),
    )
    moved, priority = profile(1014, 3), profile(1012, 2)  # two ids trading levels
    steps = plan([profile(1011), moved, priority], 5, held, 1, {Reason.DESIRED}, 4)
    assert steps == [
        Step(1013, None),  # not known cleared: it may hold anything
        Step(1012, None),
        Step(1014, moved),
        Step(1012, priority),
    ]
    for step in steps:
        held.answered(step, "Accepted")
    assert all(held.holds(p) for p in (profile(1011), moved, priority))
