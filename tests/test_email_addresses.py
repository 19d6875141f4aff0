"""The one rule for e-mail addresses (domain/emails.py): an account's id is made from the
normalised address, so normalising must be stable, and whatever it accepts must be
free of look-alike tricks."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.emails import normalize_email
from domain.errors import InvalidInput
from domain.users import user_id_for

# Letters of several scripts, digits, the punctuation addresses use, and invisible ones.
_CHARACTERS = st.sampled_from(
    [
        *"abcxyzABC019._+-",
        *["\u0430", "\u043e", "\u03bf", "\u00e9", "\uff41", "\u5c71", "\u305f", "\u30bf"],
        *["\u200b", "\u200d", "\u00ad", "\u200f", "\ufeff"],
    ]
)
_ADDRESSES = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.text(_CHARACTERS, min_size=1, max_size=12),
    st.text(_CHARACTERS, min_size=1, max_size=12),
    st.sampled_from(["com", "org", "jp", "\u0440\u0444"]),
)


@given(st.one_of(_ADDRESSES, st.emails()))
def test_a_normalised_address_is_its_own_normal_form(email: str) -> None:
    try:
        normal = normalize_email(email)
    except InvalidInput as refusal:
        assert str(refusal).startswith("email: ")
        return
    assert normalize_email(normal) == normal
    assert user_id_for(email) == user_id_for(normal)
    assert normal == normal.lower()
    assert not any(unicodedata.category(ch) == "Cf" for ch in normal)
    for part in normal.replace("@", ".").split("."):
        alphabets = {unicodedata.name(ch).split()[0] for ch in part if ch.isalpha()}
        assert not {"LATIN", "CYRILLIC"} <= alphabets, part
        assert not {"LATIN", "GREEK"} <= alphabets, part


@pytest.mark.parametrize(
    "spelling",
    [
        "anna@example.com",
        "ANNA@EXAMPLE.COM",
        " Anna@Example.com ",
        "\uff41\uff4e\uff4e\uff41@example.com",
    ],
)
def test_spellings_a_person_cannot_tell_apart_are_one_account(spelling: str) -> None:
    assert user_id_for(spelling) == user_id_for("anna@example.com")
