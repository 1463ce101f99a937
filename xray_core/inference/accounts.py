"""Who may ask for predictions on a shared server: a credentials file of salted scrypt hashes, and when to ask.

The file (``$XRAY_USERS``, default ``~/.config/xray_core/users.json``, mode 0600) maps each user name to
``scrypt$N$r$p$<salt hex>$<hash hex>``; passwords are never stored. ``python -m xray_core users add NAME`` writes
entries. Checks compare in constant time and spend one scrypt on unknown names too, so timing does not tell which
names exist. scrypt's N = 2**14, r = 8 (16 MB, ~50 ms a check) follows RFC 7914's interactive-login setting.

Sign-in is needed when the server listens on anything but its own loopback (:func:`sign_in_required`), decided
from the server's configured address, never from what a client says about itself.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from xray_core.files import atomic_path

ENV_VAR = "XRAY_USERS"
REQUIRE_ENV_VAR = "XRAY_REQUIRE_SIGN_IN"  # "1": always ask; "0": never ask; unset: decided by the address
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 10
NAME_PATTERN = re.compile(r"[A-Za-z0-9._@-]{1,64}")
MAX_FAILURES = 5  # wrong passwords in a row for one user name before it is locked
LOCKOUT_SECONDS = 60.0  # how long; a guesser gets 5 tries a minute instead of ~20 a second


class AccountError(ValueError):
    """A bad user name, password or credentials file; the message says what to do."""


def users_file() -> Path:
    """``$XRAY_USERS`` or ``~/.config/xray_core/users.json``."""
    return Path(os.environ.get(ENV_VAR) or Path.home() / ".config" / "xray_core" / "users.json")


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` of ``password`` with a fresh 16-byte salt (or ``salt``)."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, maxmem=64 << 20, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches an encoded hash (constant-time compare; a malformed entry never matches)."""
    try:
        scheme, n, r, p, salt, expected = encoded.split("$")
        digest = hashlib.scrypt(
            password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), maxmem=64 << 20, dklen=32
        )
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(digest.hex(), expected)


@functools.cache
def _dummy() -> str:
    """A hash checked for unknown names, so they cost what a real check costs (made on first use, not import)."""
    return hash_password("no such user", salt=bytes(16))


def load_users(path: Path | None = None) -> dict[str, str]:
    """Name -> encoded hash ({} when the file does not exist); a malformed file raises :class:`AccountError`."""
    path = users_file() if path is None else path
    if not path.is_file():
        return {}
    try:
        users = json.loads(path.read_text("utf-8"))["users"]
    except (ValueError, KeyError, TypeError) as error:
        raise AccountError(f"{path}: not a credentials file ({error}); recreate it with `users add`") from error
    return {str(name): str(encoded) for name, encoded in users.items()}


def check(name: str, password: str, path: Path | None = None) -> bool:
    """Whether ``name`` exists and ``password`` is its password."""
    encoded = load_users(path).get(name)
    matched = verify_password(password, encoded or _dummy())
    return encoded is not None and matched


class SignInThrottle:
    """Wrong passwords in a row per user name; after :data:`MAX_FAILURES` the name is locked for
    :data:`LOCKOUT_SECONDS`. One instance serves the whole server (every browser session), so a new session does
    not reset it. The price, accepted: a guesser can keep a known name locked."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock, self._lock = clock, threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}  # name -> (failures in a row, when the lock ends)

    def seconds_locked(self, name: str) -> float:
        """Seconds until ``name`` may try again (0 when it may now)."""
        with self._lock:
            _, until = self._failures.get(name.lower(), (0, 0.0))
            return max(0.0, until - self._clock())

    def attempt(self, name: str, password: str, path: Path | None = None) -> bool:
        """:func:`check`, unless ``name`` is locked (then False without checking); counts the outcome."""
        if self.seconds_locked(name) > 0:
            return False
        accepted = check(name, password, path)
        with self._lock:
            if accepted:
                self._failures.pop(name.lower(), None)
                return True
            count = self._failures.get(name.lower(), (0, 0.0))[0] + 1
            locked = count >= MAX_FAILURES
            until = self._clock() + LOCKOUT_SECONDS if locked else 0.0
            self._failures[name.lower()] = (0 if locked else count, until)
        return False


def add_user(name: str, password: str, path: Path | None = None) -> Path:
    """Add or replace ``name``'s entry; returns the file written (created 0600, replaced atomically)."""
    if not NAME_PATTERN.fullmatch(name):
        raise AccountError(f"user name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-'")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    return _write({**load_users(path), name: hash_password(password)}, path)


def remove_user(name: str, path: Path | None = None) -> Path:
    users = load_users(path)
    if users.pop(name, None) is None:
        raise AccountError(f"no user {name!r}; users: {', '.join(sorted(users)) or 'none'}")
    return _write(users, path)


def _write(users: dict[str, str], path: Path | None) -> Path:
    path = users_file() if path is None else path
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:  # created 0600: the hashes are never readable by others, even briefly
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(json.dumps({"users": users}, indent=2, sort_keys=True) + "\n")
    return path


def is_loopback(address: str | None) -> bool:
    """Whether a server bound to ``address`` is reachable from this machine only ('' or None: every interface)."""
    host = (address or "").strip().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def sign_in_required(address: str | None) -> bool:
    """``$XRAY_REQUIRE_SIGN_IN`` when set ("1"/"0"), else whether the server's ``address`` is not loopback."""
    forced = os.environ.get(REQUIRE_ENV_VAR, "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    return not is_loopback(address)


__all__ = [
    "ENV_VAR",
    "REQUIRE_ENV_VAR",
    "AccountError",
    "LOCKOUT_SECONDS",
    "MAX_FAILURES",
    "SignInThrottle",
    "add_user",
    "check",
    "hash_password",
    "is_loopback",
    "load_users",
    "remove_user",
    "sign_in_required",
    "users_file",
    "verify_password",
]
