"""Login lockout with exponential backoff, per account and per address, and device cookies.

A password guesser is slowed three ways; a legitimate user sharing its address is not kept out:

- **per address** (all accounts): after ``threshold`` failures from one client address, that
  address waits ``base_s * 2**(failures - threshold)`` s (at most ``max_s``) before its next
  attempt is even checked;
- **per account** (all addresses): the same backoff on the account's failures, so guessing
  from many addresses is slowed as much as from one;
- **device cookie**: a successful login hands the browser (or API client) a signed cookie
  naming the account (``skywarden_device``; HMAC-SHA256 over the account and a random device
  id, with a key made at start). An attempt that presents a valid one for the account it logs
  in to is judged *only* by that device's own failures, not by the address's or the account's.
  So an attacker behind the same NAT or proxy as the admin, or guessing from anywhere, can lock
  out new clients but not the admin's own browser.

While locked, an attempt is refused (429, ``Retry-After``) without checking the password and
without counting; a failure after the wait doubles it. A success clears the record that judged
it. Failures older than ``forget_s`` are forgotten. Records live in bounded LRU maps (a flood
of addresses costs bounded memory) and in memory only: a restart clears them, and changes the
cookie key, so every device is new again. Time is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Record:
    failures: int
    last_t: float


class Backoff:
    """Failure records by key; ``wait`` is how long the key must still wait."""

    def __init__(
        self,
        threshold: int,
        base_s: float,
        max_s: float,
        forget_s: float,
        max_keys: int = 10_000,
    ) -> None:
        self.threshold = threshold
        self.base_s = base_s
        self.max_s = max_s
        self.forget_s = forget_s
        self.max_keys = max_keys
        self._recs: OrderedDict[str, _Record] = OrderedDict()

    def __len__(self) -> int:
        return len(self._recs)

    def _get(self, key: str, now: float) -> _Record | None:
        r = self._recs.get(key)
        if r is not None and now - r.last_t > self.forget_s:
            del self._recs[key]
            return None
        return r

    def lock_s(self, failures: int) -> float:
        if failures < self.threshold:
            return 0.0
        return float(min(self.max_s, self.base_s * 2.0 ** min(60, failures - self.threshold)))

    def wait(self, key: str, now: float) -> float:
        r = self._get(key, now)
        if r is None:
            return 0.0
        return max(0.0, r.last_t + self.lock_s(r.failures) - now)

    def failed(self, key: str, now: float) -> None:
        r = self._get(key, now)
        if r is None:
            self._recs[key] = _Record(1, now)
            while len(self._recs) > self.max_keys:
                self._recs.popitem(last=False)
        else:
            r.failures += 1
            r.last_t = max(r.last_t, now)
            self._recs.move_to_end(key)

    def failures(self, key: str, now: float) -> int:
        r = self._get(key, now)
        return 0 if r is None else r.failures

    def clear(self, key: str) -> None:
        self._recs.pop(key, None)


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class LoginGuard:
    def __init__(
        self,
        threshold: int = 5,
        base_s: float = 1.0,
        max_s: float = 900.0,
        forget_s: float = 3600.0,
        key: bytes | None = None,
    ) -> None:
        self.records = Backoff(threshold, base_s, max_s, forget_s)
        self._key = key or secrets.token_bytes(32)

    # --- device cookies --------------------------------------------------------------------

    def _mac(self, user: str, device: str) -> str:
        msg = f"{user}\x00{device}".encode("utf-8", "backslashreplace")
        return _b64(hmac.new(self._key, msg, hashlib.sha256).digest()[:16])

    def device_cookie(self, user: str, current: str | None = None) -> str:
        """The cookie value to set after a success (keeps the device id of a valid one)."""
        device = self.device_of(user, current) or _b64(secrets.token_bytes(12))
        return f"{device}.{self._mac(user, device)}"

    def device_of(self, user: str, cookie: str | None) -> str | None:
        """The device id when ``cookie`` is a valid device cookie for ``user``, else None."""
        if not cookie or len(cookie) > 100 or "." not in cookie:
            return None
        device, mac = cookie.split(".", 1)
        return device if hmac.compare_digest(mac, self._mac(user, device)) else None

    # --- attempts --------------------------------------------------------------------------

    @staticmethod
    def _keys(user: str, address: str, device: str | None) -> tuple[str, ...]:
        if device is not None:
            return (f"dev:{user}\x00{device}",)
        return (f"addr:{address}", f"user:{user}")

    def wait(self, user: str, address: str, device: str | None, now: float) -> float:
        """Seconds this attempt must still wait (0: check the password)."""
        return max(self.records.wait(k, now) for k in self._keys(user, address, device))

    def failed(self, user: str, address: str, device: str | None, now: float) -> None:
        for k in self._keys(user, address, device):
            self.records.failed(k, now)

    def succeeded(self, user: str, address: str, device: str | None) -> None:
        for k in self._keys(user, address, device):
            self.records.clear(k)
