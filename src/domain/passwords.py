"""Passwords: what a new one must be, and hashing with argon2id (people's passwords and
chargers' keys), a bounded number at a time."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from domain.errors import InvalidInput
from domain.values import checked_text

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
# zxcvbn's scale: 3 is "safely unguessable: moderate protection from offline slow-hash
# scenarios" (about 10^10 guesses), which argon2id then makes slow to try.
MIN_PASSWORD_SCORE = 3
# zxcvbn's matching grows fast with the length; it refuses more than 72 characters.
_ZXCVBN_CHUNK = 72

_hasher = PasswordHasher()  # argon2id, 64 MiB, 3 passes: about 0.1 s of CPU each
# Chargers' AuthorizationKeys are 16-40 characters set by the operator, and a
# fleet reconnects all at once after an outage: at argon2's interactive cost
# (about 0.1 s of CPU each) ten thousand chargers would take many minutes to
# let in. A lighter argon2id (8 MiB, one pass: about 4 ms) is the trade-off.
_machine_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


# --- what a new password must be -----------------------------------------------------------


def check_password_strength(password: object, user_inputs: Sequence[str] = ()) -> str:
    """A new password: any printable characters, spaces too, at least MIN_PASSWORD_LENGTH
    of them, and hard to guess by zxcvbn's estimate (its advice is the refusal's message).
    `user_inputs` (the e-mail) count as easy to guess. Never NUL or other control
    characters, which a login form cannot send back the same way."""
    text = checked_text("password", password, MAX_PASSWORD_LENGTH, allow_empty=True)
    if len(text) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    score, advice = _guessability(text, user_inputs)
    if score < MIN_PASSWORD_SCORE:
        raise InvalidInput(f"password: too easy to guess. {advice}".rstrip())
    return text


def _guessability(password: str, user_inputs: Sequence[str]) -> tuple[int, str]:
    """zxcvbn's score (0-4) and advice. A longer password is scored by its best part of 72
    characters: at least as hard to guess as that part, so never rated too strong."""
    words = [word for given in user_inputs for word in _words_of(given)]
    parts = range(0, len(password), _ZXCVBN_CHUNK)
    found = [zxcvbn(password[start : start + _ZXCVBN_CHUNK], user_inputs=words) for start in parts]
    best: dict[str, Any] = max(found, key=lambda estimate: int(estimate["score"]))
    return int(best["score"]), _advice(best["feedback"])


def _words_of(text: str) -> list[str]:
    """An e-mail as the words someone would try: itself, and its name and domain's parts."""
    text = text[:254]  # an e-mail's length: a 16 KB value is no e-mail worth a dictionary
    parts = text.lower().replace("@", " ").replace(".", " ").replace("-", " ").split()
    return [text.lower(), *parts]


def _advice(feedback: object) -> str:
    if not isinstance(feedback, dict):
        return ""
    said = [feedback.get("warning") or "", *(feedback.get("suggestions") or [])]
    return " ".join(str(line) for line in said if line) or "Add another word or two."


def could_be_password(password: object) -> bool:
    """Whether a password given to log in could match a stored one: text of at most
    MAX_PASSWORD_LENGTH that UTF-8 can encode (a lone UTF-16 half cannot be hashed)."""
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        password.encode()
    except UnicodeEncodeError:
        return False
    return True


# --- hashing, a bounded number at a time ---------------------------------------------------


@dataclass
class HashingWork:
    """What the people's password hashing of this process has done: counted so that tests
    and operators can see the work a request caused, instead of timing it."""

    hashes: int = 0
    verifications: int = 0
    running: int = 0
    most_at_once: int = 0  # since the bound was last set
    waiting: int = 0  # requests waiting for their turn on an event loop (`hashing_turn`)


class _HashBound:
    """At most `size` of people's password hashes at a time in this process: each takes
    64 MiB, so a storm of logins or invitation answers queues here instead of taking the
    server's memory (120 at once took 1.1 GB and slowed every other request).

    Two gates of the same size. `slot`, a thread semaphore, is the bound itself: every hash
    and verification takes one, whatever the path. `turn`, an asyncio semaphore per event
    loop, is where the async edge waits before it hands the work to a worker thread: a
    storm of logins then queues on the loop, not in the thread pool, which the sync routes
    need (a thread waiting in `slot` is one the others do not get; 40 logins held all 40)."""

    def __init__(self, size: int):
        self.size = size
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._turns = weakref.WeakKeyDictionary()
        self.work = HashingWork()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        with self._lock:
            turns = self._turns.setdefault(loop, asyncio.Semaphore(self.size))
            self.work.waiting += 1
        try:
            await turns.acquire()
        finally:
            with self._lock:
                self.work.waiting -= 1
        try:
            yield
        finally:
            turns.release()

    @contextmanager
    def slot(self, verifying: bool) -> Iterator[None]:
        with self._slots:
            with self._lock:
                self._count(verifying)
                self.work.running += 1
                self.work.most_at_once = max(self.work.most_at_once, self.work.running)
            try:
                yield
            finally:
                with self._lock:
                    self.work.running -= 1

    def _count(self, verifying: bool) -> None:
        if verifying:
            self.work.verifications += 1
        else:
            self.work.hashes += 1


_bound = _HashBound(2)


def bound_concurrent_hashes(size: int) -> None:
    """How many people's password hashes may run at once in this process (a setting)."""
    global _bound
    if size < 1:
        raise ValueError("at least one password hash must be able to run")
    if size != _bound.size:
        counted = _bound.work
        _bound = _HashBound(size)
        # the counts go on; `most_at_once` starts again, under the new bound
        _bound.work.hashes, _bound.work.verifications = counted.hashes, counted.verifications


def hashing_work() -> HashingWork:
    """A copy of the counts so far (see HashingWork)."""
    work = _bound.work
    return HashingWork(
        work.hashes, work.verifications, work.running, work.most_at_once, work.waiting
    )


def hashing_turn() -> AbstractAsyncContextManager[None]:
    """For async code about to hash in a worker thread: wait here, on the event loop, until
    one of the bound's slots is likely free (at most the bound's size pass at once), so that
    waiting holds no thread. The thread's own `slot` still bounds every path that hashes."""
    return _bound.turn()


def hash_password(password: str) -> str:
    with _bound.slot(verifying=False):
        return _hasher.hash(password)


def hash_machine_key(key: str) -> str:
    return _machine_hasher.hash(key)


@cache
def _stand_in_hash(machine: bool) -> str:
    return (_machine_hasher if machine else _hasher).hash("no account has this password")


def verify_password(password_hash: str | None, password: object, *, machine: bool = False) -> bool:
    """Whether `password` matches. Every call verifies exactly once: a missing account, one
    without a password, or a password that cannot match (too long, not UTF-8) is checked
    against a stand-in hash, so the answer's timing does not tell which accounts exist."""
    usable = isinstance(password, str) and could_be_password(password)
    tried = password if isinstance(password, str) and usable else "cannot match"
    stored = password_hash if usable and password_hash is not None else _stand_in_hash(machine)
    if machine:
        matches = _verify(stored, tried)  # chargers: light hashes, a fleet reconnects at once
    else:
        with _bound.slot(verifying=True):
            matches = _verify(stored, tried)
    return matches and usable and password_hash is not None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
