"""Size limits for untrusted input, so a hostile or accidental file cannot exhaust memory.

Defaults suit a laptop; each limit can be raised or lowered with an environment variable
(``THREAD_ANALYZER_<FIELD NAME IN CAPITALS>``), read only when ``Limits.from_env`` is called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from analyzer.errors import AnalyzerError

ENV_PREFIX = "THREAD_ANALYZER_"


@dataclass(frozen=True)
class Limits:
    """How much input the parsers accept. Larger files and threads are refused with the
    limit named; longer comments are cut and flagged ``truncated``."""

    max_file_bytes: int = 200_000_000
    """Largest input file, in bytes; a bigger file is refused before it is read."""

    max_comment_chars: int = 100_000
    """Longest comment text kept; the rest is cut, the comment flagged 'truncated'
    and its original length kept in ``extra['original_length']``."""

    max_comments_per_thread: int = 2_000_000
    """Most comments one thread may hold; a bigger thread is refused."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults, overridden by ``THREAD_ANALYZER_MAX_FILE_BYTES`` and the like."""
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for f in fields(cls):
            var = env_var(f.name)
            raw = env.get(var)
            if raw is None or raw.strip() == "":
                continue
            try:
                value = int(raw.strip())
            except ValueError:
                value = 0
            if value <= 0:
                raise AnalyzerError(f"{var} must be a positive whole number, got {raw!r}")
            values[f.name] = value
        return cls(**values)


def env_var(field_name: str) -> str:
    """The environment variable that overrides a ``Limits`` field."""
    return ENV_PREFIX + field_name.upper()


def describe_bytes(n: int) -> str:
    """A size for error messages: '200 MB', '1.5 kB', '12 bytes'."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{n} bytes"
