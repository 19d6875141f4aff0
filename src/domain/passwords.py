"""Password hashing with argon2 (argon2-cffi's recommended parameters)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _stand_in_hash() -> str:
    return _hasher.hash("no account has this password")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches. A missing account takes as long as a wrong
    password, so the answer's timing does not tell which e-mails have accounts."""
    matches = _verify(password_hash or _stand_in_hash(), password)
    return matches and password_hash is not None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
