"""Sending one alert to a webhook: a JSON POST signed with the webhook's shared secret,
retried with exponential backoff a bounded number of times, each attempt reported to the
caller (the store logs it: ``store.alerts``, which also holds the outbox and the
background deliverer). Nothing here touches the store.

Signature: ``X-Thread-Analyzer-Signature-256: sha256=<hex>``, the HMAC-SHA256 under the
secret of ``<X-Thread-Analyzer-Timestamp> + "." + <body bytes>``; receivers recompute it
(``verify``) and may refuse old timestamps.

Secrets at rest: the store never holds a webhook's secret in the clear. It holds either a
reference, ``env:NAME`` (the secret is the environment variable NAME of the process that
delivers), or ``enc:v1:<token>``, the secret encrypted (Fernet: AES-128-CBC with an
HMAC-SHA256 tag, from ``cryptography``) under a key kept outside the database:
``$THREAD_ANALYZER_SECRET_KEY`` (a Fernet key), else the key file
``$THREAD_ANALYZER_SECRET_KEY_FILE``, else ``webhook-secrets.key`` in the user's config
folder (made, readable by its owner only, the first time a secret is encrypted). A value
with neither prefix is a plaintext secret stored by an older version: still used, and
encrypted when the webhooks are next written (``store.alerts.seal_secrets``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.errors import AnalyzerError

SIGNATURE = "X-Thread-Analyzer-Signature-256"
TIMESTAMP = "X-Thread-Analyzer-Timestamp"
EVENT = "X-Thread-Analyzer-Event"
DELIVERY = "X-Thread-Analyzer-Delivery"
ENV_ATTEMPTS = "THREAD_ANALYZER_ALERT_ATTEMPTS"
ENV_BACKOFF = "THREAD_ANALYZER_ALERT_BACKOFF"
ENV_TIMEOUT = "THREAD_ANALYZER_ALERT_TIMEOUT"
MAX_ATTEMPTS = 10
ENV_SECRET_KEY = "THREAD_ANALYZER_SECRET_KEY"
ENV_SECRET_KEY_FILE = "THREAD_ANALYZER_SECRET_KEY_FILE"
KEY_FILE_NAME = "webhook-secrets.key"
ENCRYPTED = "enc:v1:"
ENV_REF = "env:"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")


def env_float(name: str, default: float, low: float, high: float) -> float:
    try:
        value = float(os.environ.get(name) or default)
    except ValueError:
        return default
    return min(max(value, low), high)


@dataclass(frozen=True)
class Policy:
    """How hard to try: attempts per alert, the first wait (doubled each time, capped), and
    the time one request may take."""

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    timeout: float = 5.0

    @classmethod
    def from_env(cls) -> Policy:
        return cls(
            attempts=int(env_float(ENV_ATTEMPTS, 4, 1, MAX_ATTEMPTS)),
            backoff=env_float(ENV_BACKOFF, 0.5, 0.0, 60.0),
            timeout=env_float(ENV_TIMEOUT, 5.0, 0.1, 60.0),
        )

    def wait(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before attempt ``attempt + 1``."""
        base = self.backoff * (2 ** (attempt - 1))
        if retry_after is not None:
            base = max(base, retry_after)
        return min(base, self.max_backoff)


# ---------------------------------------------------------------------------- secrets at rest
class SecretError(AnalyzerError):
    """A webhook secret that cannot be sealed or revealed (the message never holds it)."""


def key_file() -> Path:
    """Where the key that encrypts webhook secrets lives when $THREAD_ANALYZER_SECRET_KEY is unset."""
    named = os.environ.get(ENV_SECRET_KEY_FILE)
    if named:
        return Path(named).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("thread-analyzer")) / KEY_FILE_NAME


def _fernet(*, create: bool) -> Any:
    """The Fernet that seals secrets: the key from the environment or the key file (made
    when ``create`` and missing: 0600, never overwritten)."""
    from cryptography.fernet import Fernet

    key = os.environ.get(ENV_SECRET_KEY, "").strip()
    where = f"${ENV_SECRET_KEY}"
    if not key:
        path = key_file()
        where = str(path)
        try:
            key = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            if not create:
                raise SecretError(f"no key to decrypt webhook secrets: {path} is missing") from None
            key = Fernet.generate_key().decode("ascii")
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it just now: use theirs
                return _fernet(create=False)
            except OSError as exc:
                raise SecretError(f"cannot write the key for webhook secrets to {path}: {exc.strerror}") from None
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(key + "\n")
        except (OSError, UnicodeError) as exc:
            raise SecretError(f"cannot read the key for webhook secrets from {path}: {exc}") from None
    try:
        return Fernet(key.encode("ascii"))
    except (ValueError, UnicodeError):
        raise SecretError(
            f"{where} is not a Fernet key (32 url-safe base64-encoded bytes; make one with "
            '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`)'
        ) from None


def is_reference(secret: str) -> bool:
    return secret.startswith(ENV_REF)


def check_reference(secret: str) -> None:
    """SecretError unless ``env:NAME`` names a possible environment variable."""
    if not _ENV_NAME.match(secret[len(ENV_REF) :]):
        raise SecretError("a secret reference is env:NAME, NAME an environment variable (letters, digits, _)")


def seal(secret: str) -> str:
    """What the store keeps for ``secret``: an ``env:NAME`` reference as it is, a stored
    form (sealed already) as it is, anything else encrypted."""
    if is_reference(secret):
        check_reference(secret)
        return secret
    if secret.startswith(ENCRYPTED):
        reveal(secret)  # a stored form must open with this key
        return secret
    return ENCRYPTED + _fernet(create=True).encrypt(secret.encode("utf-8")).decode("ascii")


def is_sealed(stored: str) -> bool:
    return stored.startswith((ENCRYPTED, ENV_REF))


def reveal(stored: str) -> str:
    """The secret behind a stored value (SecretError when its variable or key is missing)."""
    if is_reference(stored):
        name = stored[len(ENV_REF) :]
        value = os.environ.get(name)
        if not value:
            raise SecretError(f"the webhook's secret is ${name}, which is not set in this process")
        return value
    if stored.startswith(ENCRYPTED):
        from cryptography.fernet import InvalidToken

        fernet = _fernet(create=False)
        try:
            return fernet.decrypt(stored[len(ENCRYPTED) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            raise SecretError(
                "the webhook's secret does not decrypt with this key (was the key file or "
                f"${ENV_SECRET_KEY} changed?); add the webhook again with its secret"
            ) from None
    return stored  # plaintext, from before secrets were sealed


def describe_secret(stored: str) -> str:
    """Where a secret lives, for lists: never the secret itself."""
    if is_reference(stored):
        return stored
    if stored.startswith(ENCRYPTED):
        return "encrypted"
    return "plaintext (encrypted on the next change)"


def body_of(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=True, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def http_client(policy: Policy) -> Any:
    """An httpx client for webhooks: the policy's timeout, redirects not followed (a
    redirect is an answer, never a second destination for the payload)."""
    import httpx

    return httpx.Client(timeout=policy.timeout, follow_redirects=False)


def _retry_after(response: Any) -> float | None:
    try:
        return float(response.headers.get("retry-after"))
    except (TypeError, ValueError):
        return None


def deliver_one(
    client: Any,
    alert: Mapping[str, Any],
    policy: Policy,
    record: Callable[..., None],
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST one alert until it is accepted (2xx), refused (4xx other than 408/429) or out of
    attempts; ``record(attempt, ok=, status_code=, error=, seconds=, final=)`` logs each."""
    import httpx

    body = body_of(alert["payload"])
    start = int(alert.get("attempts") or 0)
    for attempt in range(start + 1, max(policy.attempts, start + 1) + 1):
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "thread-analyzer-alerts",
            EVENT: str(alert["kind"]),
            DELIVERY: str(alert["id"]),
            TIMESTAMP: timestamp,
            SIGNATURE: sign(alert["secret"], timestamp, body),
        }
        began = time.monotonic()
        status: int | None = None
        error: str | None = None
        retry_after = None
        try:
            response = client.post(alert["url"], content=body, headers=headers)
            status = response.status_code
            retry_after = _retry_after(response)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        ok = error is None
        retryable = not ok and (status is None or status >= 500 or status in (408, 429))
        final = ok or not retryable or attempt >= policy.attempts
        record(attempt, ok=ok, status_code=status, error=error, seconds=time.monotonic() - began, final=final)
        if final:
            return ok
        sleep(policy.wait(attempt, retry_after))
    return False
