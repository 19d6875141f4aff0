"""Password hashing with argon2id: people's passwords, and chargers' keys."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Chargers' AuthorizationKeys are 16-40 characters set by the operator, and a
# fleet reconnects all at once after an outage: at argon2's interactive cost
# (about 0.1 s of CPU each) ten thousand chargers would take many minutes to
# let in. A lighter argon2id (8 MiB, one pass: about 4 ms) is the trade-off.
_machine_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def hash_machine_key(key: str) -> str:
    return _machine_hasher.hash(key)


@cache
def _stand_in_hash(machine: bool) -> str:
    return (_machine_hasher if machine else _hasher).hash("no account has this password")


def verify_password(password_hash: str | None, password: str, *, machine: bool = False) -> bool:
    """Whether `password` matches. A missing account takes as long as a wrong
    password, so the answer's timing does not tell which accounts exist."""
    matches = _verify(password_hash or _stand_in_hash(machine), password)
    return matches and password_hash is not None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
