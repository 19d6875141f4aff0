"""Chargers' keys verified in this process, remembered so that a reconnect is not hashed again.

A charger sends its key (OCPP-J 1.6 §6.2.2, HTTP Basic) on every connection, and a
fleet reconnects all at once after a network outage: one argon2id check each (4-9 ms
of CPU here) made 10,000 chargers wait minutes. A key that matched its stored hash once
is remembered, per charger, as

- an HMAC-SHA-256 of the key under a random secret of this process (never stored,
  never sent, gone with the process), so no key is kept in the clear and nothing
  remembered here can be checked against guesses outside this process; and
- the stored hash it matched. The hash holds a fresh random salt for every key set, so
  a new key (or the same key set again) no longer matches what is remembered: it is
  verified with argon2id again, and the old key stops working at once.

A presented key is then accepted without argon2 only if its HMAC equals the remembered
one (compared in constant time) *and* the charger's stored hash is still the one it
matched. Only matches are remembered: a wrong key is hashed every time, so guessing
stays as slow as before (and throttled, chargers/throttle.py). Memory is bounded: the
least recently verified chargers are forgotten first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from domain.passwords import verify_password

MAX_REMEMBERED = 200_000  # chargers; about 300 bytes each


@dataclass(frozen=True)
class _Verified:
    password_hash: str
    digest: bytes


class VerifiedKeys:
    """Which charger keys this process has verified against which stored hash."""

    def __init__(self, size: int = MAX_REMEMBERED):
        self._secret = secrets.token_bytes(32)
        self._size = size
        self._verified: OrderedDict[str, _Verified] = OrderedDict()
        self._lock = threading.Lock()
        self.hashed = 0  # argon2 verifications made; tests and benchmarks read it

    def verify(self, charge_point_id: str, password_hash: str | None, key: object) -> bool:
        """Whether `key` is the charger's key, `password_hash` being its stored hash (None
        for an unknown charger, which is hashed against a stand-in all the same)."""
        digest = self._digest(key)
        if password_hash is not None and digest is not None:
            with self._lock:
                known = self._verified.get(charge_point_id)
                if known is not None:
                    self._verified.move_to_end(charge_point_id)
            if (
                known is not None
                and known.password_hash == password_hash
                and hmac.compare_digest(known.digest, digest)
            ):
                return True
        with self._lock:
            self.hashed += 1
        matches = verify_password(password_hash, key, machine=True)
        if matches and digest is not None and password_hash is not None:
            self._remember(charge_point_id, _Verified(password_hash, digest))
        return matches

    def _digest(self, key: object) -> bytes | None:
        if not isinstance(key, str):
            return None
        try:
            encoded = key.encode()
        except UnicodeEncodeError:  # a lone UTF-16 half: can never match
            return None
        return hmac.new(self._secret, encoded, hashlib.sha256).digest()

    def _remember(self, charge_point_id: str, verified: _Verified) -> None:
        with self._lock:
            self._verified[charge_point_id] = verified
            self._verified.move_to_end(charge_point_id)
            while len(self._verified) > self._size:
                self._verified.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._verified)
