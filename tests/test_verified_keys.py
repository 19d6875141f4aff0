"""A charger's key, once verified, is not hashed again on the next reconnect, yet a wrong
key, a changed key and a forgotten charger are always checked with argon2 again."""

from __future__ import annotations

from typing import Any

import pytest

from domain.passwords import hash_machine_key
from domain.verified_keys import VerifiedKeys

KEY = "charger-key-of-cp-1"


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_machine_key(KEY)


def test_a_verified_key_is_accepted_again_without_hashing(stored: str) -> None:
    keys = VerifiedKeys()

    assert keys.verify("CP-1", stored, KEY)
    assert keys.verify("CP-1", stored, KEY)
    assert keys.verify("CP-1", stored, KEY)

    assert keys.hashed == 1


def test_a_wrong_key_is_hashed_every_time_and_never_accepted(stored: str) -> None:
    keys = VerifiedKeys()
    assert keys.verify("CP-1", stored, KEY)

    for guess in range(3):
        assert not keys.verify("CP-1", stored, f"guess-{guess}")

    assert keys.hashed == 4  # the right key once, each guess once
    assert keys.verify("CP-1", stored, KEY)  # the guesses forgot nothing
    assert keys.hashed == 4


def test_a_new_key_ends_the_old_one_at_once_though_it_was_remembered(stored: str) -> None:
    keys = VerifiedKeys()
    assert keys.verify("CP-1", stored, KEY)
    same_key_set_again = hash_machine_key(KEY)  # a fresh salt: another hash
    new = hash_machine_key("the-new-key-of-cp-1")

    assert not keys.verify("CP-1", new, KEY)
    assert keys.verify("CP-1", new, "the-new-key-of-cp-1")
    assert keys.verify("CP-1", same_key_set_again, KEY)  # hashed again, then remembered
    assert keys.hashed == 4


def test_a_key_remembered_for_one_charger_opens_no_other(stored: str) -> None:
    keys = VerifiedKeys()
    assert keys.verify("CP-1", stored, KEY)

    assert not keys.verify("CP-2", hash_machine_key("key-of-cp-2"), KEY)
    assert keys.hashed == 2


def test_an_unknown_charger_is_hashed_against_a_stand_in_and_refused() -> None:
    keys = VerifiedKeys()

    assert not keys.verify("CP-NONE", None, KEY)
    assert not keys.verify("CP-NONE", None, KEY)

    assert keys.hashed == 2  # the same work as a known charger's: no discovery by timing
    assert len(keys) == 0


def test_the_least_recently_verified_chargers_are_forgotten_first(stored: str) -> None:
    keys = VerifiedKeys(size=2)
    for charge_point_id in ("CP-1", "CP-2"):
        assert keys.verify(charge_point_id, stored, KEY)
    assert keys.verify("CP-1", stored, KEY)  # CP-1 is now the most recent
    assert keys.verify("CP-3", stored, KEY)  # CP-2 goes
    assert keys.hashed == 3

    assert len(keys) == 2
    assert keys.verify("CP-1", stored, KEY)
    assert keys.hashed == 3
    assert keys.verify("CP-2", stored, KEY)
    assert keys.hashed == 4


@pytest.mark.parametrize("key", [None, 12345, b"charger-key-of-cp-1", "half\ud800pair", ""])
def test_a_key_that_is_no_text_is_refused_without_an_error(stored: str, key: Any) -> None:
    keys = VerifiedKeys()

    assert not keys.verify("CP-1", stored, key)
    assert len(keys) == 0
