"""What every platform's fetcher shares: settings, one polite HTTP client, the fetched
documents, and writing them without leaving anything half-written.

The network is reached only from here, and only when a user runs ``analyzer fetch`` (or
presses the dashboard's fetch button): nothing in the package imports this at start-up.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from analyzer import __version__
from analyzer.errors import AnalyzerError
from analyzer.limits import ENV_PREFIX, describe_bytes

if TYPE_CHECKING:
    import httpx

USER_AGENT = f"python:thread-analyzer:{__version__} (comment-thread analysis; +analyzer fetch)"
BASE_ENV = ENV_PREFIX + "FETCH_BASE_"  # + platform name in capitals: where its API lives
_SECRET_PARAMS = {"key", "api_key", "access_token", "token"}
_RETRY_STATUSES = {429, 502, 503, 504}


class FetchError(AnalyzerError):
    """A thread that could not be fetched: the message names the URL asked for."""


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(ENV_PREFIX + name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise AnalyzerError(f"{ENV_PREFIX + name} must be a number of seconds (0 or more), got {raw!r}")
    return value


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(ENV_PREFIX + name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise AnalyzerError(f"{ENV_PREFIX + name} must be a positive whole number, got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """How a fetch behaves. ``interval`` (seconds between requests to one API) is per
    platform unless set; a server that asks us to wait longer than ``max_wait`` is not
    waited for: the fetch stops with a message instead of hanging."""

    timeout: float = 30.0
    max_wait: float = 120.0
    retries: int = 4
    max_requests: int = 5000
    max_bytes: int = 200_000_000
    interval: float | None = None
    bases: Mapping[str, str] = field(default_factory=dict)
    youtube_key: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults, overridden by ``THREAD_ANALYZER_FETCH_TIMEOUT``, ``_FETCH_MAX_WAIT``,
        ``_FETCH_INTERVAL``, ``_FETCH_MAX_REQUESTS``, ``_FETCH_BASE_<PLATFORM>`` (an API's
        base URL, e.g. a mirror or a test server) and ``YOUTUBE_API_KEY``."""
        from analyzer.limits import Limits

        env = os.environ if environ is None else environ
        bases = {k[len(BASE_ENV) :].lower(): v.strip() for k, v in env.items() if k.startswith(BASE_ENV) and v.strip()}
        interval_raw = env.get(ENV_PREFIX + "FETCH_INTERVAL", "").strip()
        return cls(
            timeout=_env_float(env, "FETCH_TIMEOUT", cls.timeout) or cls.timeout,
            max_wait=_env_float(env, "FETCH_MAX_WAIT", cls.max_wait),
            max_requests=_env_int(env, "FETCH_MAX_REQUESTS", cls.max_requests),
            max_bytes=Limits.from_env(env).max_file_bytes,
            interval=_env_float(env, "FETCH_INTERVAL", 0.0) if interval_raw else None,
            bases=bases,
            youtube_key=(env.get("YOUTUBE_API_KEY") or "").strip() or None,
        )

    def base(self, platform: str, default: str) -> str:
        return self.bases.get(platform, default).rstrip("/")


class Progress:
    """What a fetcher reports: comments found so far, against a total when the platform
    says how many there are. The command drives a tqdm bar with it; the default is silent."""

    def total(self, n: int | None) -> None:
        pass

    def update(self, n: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


@dataclass
class Fetched:
    """A fetched thread as the platform's own JSON: ``main`` is what ``analyzer parse``
    reads; ``companions`` (path relative to ``<stem>_morechildren/`` → document) are read
    with it (Reddit's 'load more' responses). ``name`` is the file name to save it under."""

    platform: str
    url: str
    name: str
    main: Any
    companions: dict[str, Any] = field(default_factory=dict)
    requests: int = 0
    comments: int = 0

    def encoded(self) -> tuple[bytes, dict[str, bytes]]:
        dump: Callable[[Any], bytes] = lambda doc: json.dumps(doc, ensure_ascii=False).encode("utf-8")  # noqa: E731
        return dump(self.main), {k: dump(v) for k, v in self.companions.items()}


def redact(url: str) -> str:
    """The URL for messages, with API keys replaced by '***'."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query:
        return url
    query = [
        (k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe=",*[]:/")))


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date), or None."""
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _reason(response: httpx.Response, body: bytes) -> str:
    """A short reason from an error response: the API's own message when it gives one."""
    text = ""
    try:
        doc = json.loads(body[:100_000]) if body else None
    except (ValueError, UnicodeDecodeError):
        doc = None
    if isinstance(doc, dict):
        err = doc.get("error")
        if isinstance(err, dict):
            text = str(err.get("message") or "")
        elif isinstance(err, str):
            text = err
        text = text or str(doc.get("message") or doc.get("errors") or "")
    text = " ".join(text.split())[:200]
    phrase = response.reason_phrase or ""
    return f"HTTP {response.status_code} {phrase}".strip() + (f": {text}" if text else "")


class Client:
    """One platform's API, politely: requests spaced by ``interval``, ``Retry-After`` and
    Reddit-style ``x-ratelimit-*`` headers obeyed (up to ``settings.max_wait``), transient
    failures retried a few times, every failure one ``FetchError`` naming the URL.
    Thread-safe, so Hacker News items can be fetched by a few threads at once."""

    def __init__(self, settings: Settings, *, interval: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.interval = settings.interval if settings.interval is not None else interval
        self.sleep = sleep
        self.requests = 0
        self.bytes = 0
        self._lock = threading.Lock()
        self._next_at = 0.0
        self._http: httpx.Client | None = None

    def __enter__(self) -> Client:
        import httpx

        self._http = httpx.Client(
            timeout=httpx.Timeout(self.settings.timeout, connect=min(self.settings.timeout, 15.0)),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=True,
            trust_env=True,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _turn(self, delay: float = 0.0) -> None:
        """Wait until this client may send its next request."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_at) + delay
            self._next_at = start + self.interval
        if start > now:
            self.sleep(start - now)

    def _count(self, url: str) -> None:
        with self._lock:
            if self.requests >= self.settings.max_requests:
                raise FetchError(
                    f"stopped after {self.requests} requests (raise {ENV_PREFIX}FETCH_MAX_REQUESTS to fetch more)",
                    source=redact(url),
                )
            self.requests += 1

    def get_json(self, url: str, params: Mapping[str, Any] | list[tuple[str, Any]] | None = None) -> Any:
        """The decoded JSON body of GET ``url``; ``FetchError`` for anything else."""
        import httpx

        assert self._http is not None, "use the client as a context manager"
        shown = redact(str(httpx.URL(url, params=params))) if params else redact(url)
        delay = 0.0
        for attempt in range(self.settings.retries + 1):
            self._count(shown)
            self._turn(delay)
            try:
                body, response = self._get(url, params, shown)
            except httpx.TimeoutException:
                raise FetchError(f"timed out after {self.settings.timeout:g} s", source=shown) from None
            except httpx.HTTPError as exc:
                raise FetchError(f"could not connect: {type(exc).__name__}: {exc}", source=shown) from None
            self._obey_rate_headers(response)
            if response.status_code in _RETRY_STATUSES and attempt < self.settings.retries:
                wait = _retry_after(response)
                if wait is None:
                    wait = min(2.0**attempt, self.settings.max_wait)
                if wait > self.settings.max_wait:
                    raise FetchError(
                        f"{_reason(response, body)}; the server asks to wait {wait:.0f} s, more than the "
                        f"{self.settings.max_wait:g} s allowed ({ENV_PREFIX}FETCH_MAX_WAIT): try again later",
                        source=shown,
                    )
                delay = wait
                continue
            if response.status_code >= 400:
                raise FetchError(_reason(response, body), source=shown)
            try:
                return json.loads(body)
            except (ValueError, UnicodeDecodeError):
                kind = response.headers.get("content-type", "unknown type").split(";")[0]
                raise FetchError(f"the answer is not JSON ({kind})", source=shown) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _get(self, url: str, params: Any, shown: str) -> tuple[bytes, httpx.Response]:
        """Body and response, refusing bodies that would take the whole fetch over the size cap."""
        assert self._http is not None
        with self._http.stream("GET", url, params=params) as response:
            chunks = []
            for chunk in response.iter_bytes():
                with self._lock:
                    self.bytes += len(chunk)
                    over = self.bytes > self.settings.max_bytes
                if over:
                    raise FetchError(
                        f"the thread is over {describe_bytes(self.settings.max_bytes)} "
                        f"(raise {ENV_PREFIX}MAX_FILE_BYTES to fetch it)",
                        source=shown,
                    )
                chunks.append(chunk)
        return b"".join(chunks), response

    def _obey_rate_headers(self, response: httpx.Response) -> None:
        """Reddit says how many requests are left in its window and when it resets."""
        remaining = response.headers.get("x-ratelimit-remaining")
        reset = response.headers.get("x-ratelimit-reset")
        if remaining is None or reset is None:
            return
        try:
            left, seconds = float(remaining), float(reset)
        except ValueError:
            return
        if left < 1 and seconds > 0:
            with self._lock:
                self._next_at = max(self._next_at, time.monotonic() + min(seconds, self.settings.max_wait))


def write_atomic(fetched: Fetched, dest: Path) -> list[Path]:
    """Save ``fetched`` as ``dest`` (and ``<stem>_morechildren/`` beside it when it has
    companions). Everything is written to temporary names in the same folder first and
    renamed into place at the end, the main file last: a failure leaves nothing new, and
    a reader never sees a thread file without its companions."""
    main, companions = fetched.encoded()
    dest = Path(dest)
    folder = dest.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp_dir = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=folder))
    except OSError as exc:
        raise AnalyzerError(f"cannot write here: {exc.strerror or exc}", source=str(dest)) from None
    companion_dir = dest.with_name(dest.stem + "_morechildren")
    written = [dest]
    try:
        (tmp_dir / "main.json").write_bytes(main)
        if companions:
            staged = tmp_dir / "companions"
            staged.mkdir()
            for rel, data in companions.items():
                (staged / rel).write_bytes(data)
        if companion_dir.exists():  # an earlier fetch's: it must not be merged into this one
            os.replace(companion_dir, tmp_dir / "old")
        if companions:
            os.replace(staged, companion_dir)
            written.append(companion_dir)
        os.replace(tmp_dir / "main.json", dest)
    except OSError as exc:
        raise AnalyzerError(f"cannot write: {exc.strerror or exc}", source=str(dest)) from None
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return written


def safe_name(*parts: str) -> str:
    """A file name from URL parts: letters, digits, '.', '-' and '_' only."""
    cleaned = [
        "".join(ch if ch.isascii() and (ch.isalnum() or ch in ".-") else "_" for ch in p).strip("._") for p in parts
    ]
    return "_".join(p for p in cleaned if p)[:150] + ".json"
