"""API keys (stored hashed) and per-key rate limits and daily quotas.

The key file is JSON: ``{"keys": [{"name": ..., "sha256": ..., "rate": ..., "burst": ...,
"daily_quota": ...}]}``; ``analyzer apikey`` adds a key and prints it once. Only the SHA-256
of a key is kept: keys are long random tokens, so a fast hash is enough, and a leaked file
gives nobody a working key. Limits are counted in each server process (with several
``--workers`` each has its own buckets: divide the limits by the worker count).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from analyzer.errors import AnalyzerError
from analyzer.service.errors import ApiError


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class ApiKey:
    """One client: a name (shown in logs and recorded with its verdicts), the key's hash,
    and its limits (None: the server's defaults)."""

    name: str
    sha256: str
    rate: float | None = None  # requests per second, refilled continuously
    burst: int | None = None  # most requests at once
    daily_quota: int | None = None  # requests per UTC day


def read_keys(path: str | os.PathLike[str]) -> list[ApiKey]:
    """The keys in ``path``; AnalyzerError naming the file and the entry when it is malformed."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AnalyzerError(f"{p}: no such API key file (create one with `analyzer apikey NAME --file {p}`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnalyzerError(f"{p}: not a readable API key file: {exc}") from None
    entries = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise AnalyzerError(f'{p}: expected {{"keys": [...]}}')
    keys = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("name"), str) or not isinstance(e.get("sha256"), str):
            raise AnalyzerError(f"{p}: keys[{i}] needs a 'name' and a 'sha256'")
        try:
            keys.append(
                ApiKey(
                    name=e["name"],
                    sha256=e["sha256"].lower(),
                    rate=None if e.get("rate") is None else float(e["rate"]),
                    burst=None if e.get("burst") is None else int(e["burst"]),
                    daily_quota=None if e.get("daily_quota") is None else int(e["daily_quota"]),
                )
            )
        except (TypeError, ValueError):
            raise AnalyzerError(f"{p}: keys[{i}]: rate, burst and daily_quota must be numbers") from None
    return keys


def add_key(
    path: str | os.PathLike[str],
    name: str,
    *,
    rate: float | None = None,
    burst: int | None = None,
    daily_quota: int | None = None,
) -> str:
    """Create a key for ``name``, store its hash in ``path`` (created if missing, written
    atomically) and return the key itself, which is shown only this once."""
    p = Path(path)
    keys = read_keys(p) if p.exists() else []
    if any(k.name == name for k in keys):
        raise AnalyzerError(f"{p}: a key named {name!r} exists already")
    key = "ta-" + secrets.token_urlsafe(32)
    keys.append(ApiKey(name, hash_key(key), rate, burst, daily_quota))
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps({"keys": [asdict(k) for k in keys]}, indent=2) + "\n", encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, p)
    return key


@dataclass
class _Bucket:
    tokens: float
    updated: float
    day: str
    used_today: int = 0


class Limiter:
    """Token buckets and daily quotas, one per client name. ``check`` raises a 429
    ``ApiError`` with ``Retry-After`` when the client must wait."""

    def __init__(self, rate: float | None = None, burst: int | None = None, daily_quota: int | None = None) -> None:
        self.rate = rate
        self.burst = burst
        self.daily_quota = daily_quota
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def check(self, client: str, key: ApiKey | None = None, *, now: float | None = None) -> None:
        rate = key.rate if key is not None and key.rate is not None else self.rate
        burst = key.burst if key is not None and key.burst is not None else self.burst
        quota = key.daily_quota if key is not None and key.daily_quota is not None else self.daily_quota
        if rate is None and quota is None:
            return
        t = time.monotonic() if now is None else now
        day = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        capacity = float(burst if burst is not None else max(1, int(rate or 1)))
        with self._lock:
            b = self._buckets.get(client)
            if b is None:
                b = self._buckets[client] = _Bucket(capacity, t, day)
            if b.day != day:
                b.day, b.used_today = day, 0
            if quota is not None and b.used_today >= quota:
                tomorrow = 86400 - (int(time.time()) % 86400)
                raise ApiError(
                    429,
                    f"Daily quota of {quota} requests used up for {client}; it resets at 00:00 UTC.",
                    reason="RATE_LIMIT_EXCEEDED",
                    headers={"Retry-After": str(tomorrow)},
                )
            if rate is not None:
                b.tokens = min(capacity, b.tokens + (t - b.updated) * rate)
                b.updated = t
                if b.tokens < 1:
                    wait = (1 - b.tokens) / rate
                    raise ApiError(
                        429,
                        f"Rate limit of {rate:g} requests per second exceeded for {client}; retry in {wait:.1f} s.",
                        reason="RATE_LIMIT_EXCEEDED",
                        headers={"Retry-After": str(max(1, int(wait + 0.999)))},
                    )
                b.tokens -= 1
            b.used_today += 1


class KeyRing:
    """Which key a request carries. Without keys every request is let in as 'anonymous'."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self.keys = {k.sha256: k for k in keys}

    @property
    def required(self) -> bool:
        return bool(self.keys)

    def identify(self, presented: str | None) -> ApiKey | None:
        """The key presented (``?key=`` or ``Authorization: Bearer``), or None when keys
        aren't required; 401 when one is required and missing, 403 when it is unknown."""
        if not self.keys:
            return None
        if not presented:
            raise ApiError(
                401,
                "The request is missing a valid API key: pass ?key=KEY or an 'Authorization: Bearer KEY' header.",
                reason="API_KEY_MISSING",
            )
        key = self.keys.get(hash_key(presented))
        if key is None:
            raise ApiError(403, "API key not valid. Please pass a valid API key.", reason="API_KEY_INVALID")
        return key
