"""The service's settings, one dataclass, so the CLI, the worker processes and the tests
build the same server."""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass, field

from analyzer.errors import AnalyzerError

ENV_CONFIG = "THREAD_ANALYZER_SERVE_CONFIG"  # how `--workers N` hands the settings to each worker


@dataclass
class ServiceConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    db: str | None = None
    model_dirs: list[str] = field(default_factory=list)
    api_keys: str | None = None  # the key file; None: no keys, loopback only
    workers: int = 1
    precision: str = "float32"
    rate: float | None = None  # requests per second per key (or per client address without keys)
    burst: int | None = None
    daily_quota: int | None = None
    max_body_bytes: int = 1_000_000
    max_text_bytes: int = 20_480  # Perspective's cap on comment.text
    max_items: int = 1000  # comments per /v1 call
    max_json_depth: int = 32
    request_timeout: float = 30.0
    max_batch: int = 64  # texts gathered from concurrent requests into one micro-batch
    # at most this many texts per forward pass inside a micro-batch, sorted by length and cut
    # where padding costs least (scoring.passes): requests arrive in random lengths, and one
    # pass over 32 of them pads every text to the longest (measured: 56 texts/s in passes of
    # 32, 94 in passes of 8, against 114 for batch scoring; docs/serving.md)
    forward_batch: int = 8
    max_wait_ms: float = 2.0  # how long a batch waits for more requests
    # the models in a child process: the event loop no longer waits for the model thread's
    # interpreter lock (see analyzer/service/model_process.py)
    model_process: bool = False
    cors_origins: list[str] = field(default_factory=list)
    detect_languages: bool = True

    def check(self) -> ServiceConfig:
        """AnalyzerError for settings that would be unsafe or cannot work."""
        if not is_loopback(self.host) and not self.api_keys:
            raise AnalyzerError(
                f"refusing to listen on {self.host}, which other machines can reach, without API keys: "
                "pass --api-keys FILE (create keys with `analyzer apikey NAME --file FILE`) or use 127.0.0.1"
            )
        if self.workers < 1:
            raise AnalyzerError("--workers must be at least 1")
        for name in ("max_body_bytes", "max_text_bytes", "max_items", "max_json_depth", "max_batch", "forward_batch"):
            if getattr(self, name) < 1:
                raise AnalyzerError(f"{name.replace('_', '-')} must be positive")
        return self

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServiceConfig:
        raw = os.environ.get(ENV_CONFIG)
        if not raw:
            raise AnalyzerError(f"{ENV_CONFIG} is not set (worker processes are started by `analyzer serve`)")
        return cls(**json.loads(raw))


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
