"""Scores already computed, so identical texts are scored once per model and a re-run
over the same data runs no model at all.

The key is (model fingerprint, sha256 of the normalised text): a new model version
never reads an old version's scores, and texts that differ only in Unicode form or
whitespace share one entry. An in-memory LRU sits in front of an optional SQLite file.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path

from analyzer.errors import AnalyzerError

ENV_CACHE = "THREAD_ANALYZER_CACHE"

# (scores {label: probability}, windowed)
Entry = tuple[dict[str, float], bool]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    fingerprint TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    scores TEXT NOT NULL,
    windowed INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, text_hash)
)
"""
_SQL_BATCH = 500  # stay well under SQLite's bound-parameter limit


def normalize_text(text: str) -> str:
    """NFC and collapsed whitespace: the forms a model cannot tell apart anyway."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def default_path() -> Path:
    """Where scores are cached when nothing else is said: the platform's user cache folder
    (``~/.cache/thread-analyzer/scores.sqlite`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("thread-analyzer")) / "scores.sqlite"


def text_key(text: str) -> str:
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


class ScoreCache:
    """LRU in memory (``max_entries``), backed by a SQLite file when ``path`` is given.

    ``hits`` and ``misses`` count look-ups per (model, text), so a caller can prove
    that a second run scored nothing new.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, max_entries: int = 100_000) -> None:
        self.path = Path(path).expanduser() if path else None
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._memory: OrderedDict[tuple[str, str], Entry] = OrderedDict()
        self._db: sqlite3.Connection | None = None

    @classmethod
    def from_env(cls, path: str | Path | None = None, *, enabled: bool = True, **kwargs: int) -> ScoreCache:
        """``path`` if given, else ``$THREAD_ANALYZER_CACHE`` (empty: memory only), else the
        user's cache folder (``default_path()``); memory only when not ``enabled``."""
        if not enabled:
            return cls(None, **kwargs)
        if path:
            return cls(path, **kwargs)
        env = os.environ.get(ENV_CACHE)
        if env is not None:
            return cls(env or None, **kwargs)
        return cls(default_path(), **kwargs)

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "entries_in_memory": len(self._memory)}

    # ------------------------------------------------------------------ access
    def get_many(self, fingerprint: str, keys: Iterable[str]) -> dict[str, Entry]:
        """The cached entries among ``keys`` (text hashes) for one model."""
        found: dict[str, Entry] = {}
        missing: list[str] = []
        for key in dict.fromkeys(keys):
            entry = self._memory.get((fingerprint, key))
            if entry is not None:
                self._memory.move_to_end((fingerprint, key))
                found[key] = entry
            else:
                missing.append(key)
        if missing and self.path is not None:
            for key, entry in self._read_db(fingerprint, missing).items():
                found[key] = entry
                self._remember(fingerprint, key, entry)
        self.hits += len(found)
        self.misses += sum(1 for key in missing if key not in found)
        return {key: (dict(scores), windowed) for key, (scores, windowed) in found.items()}

    def put_many(self, fingerprint: str, entries: Mapping[str, Entry]) -> None:
        for key, (scores, windowed) in entries.items():
            self._remember(fingerprint, key, (dict(scores), bool(windowed)))
        if self.path is not None and entries:
            db = self._connect()
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO scores (fingerprint, text_hash, scores, windowed) VALUES (?, ?, ?, ?)",
                    [(fingerprint, key, json.dumps(s, sort_keys=True), int(w)) for key, (s, w) in entries.items()],
                )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> ScoreCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _remember(self, fingerprint: str, key: str, entry: Entry) -> None:
        self._memory[(fingerprint, key)] = entry
        self._memory.move_to_end((fingerprint, key))
        while len(self._memory) > self.max_entries:
            self._memory.popitem(last=False)

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            if self.path is None:
                raise RuntimeError("this score cache has no file")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path)
                db.execute(_SCHEMA)
                db.commit()
            except (OSError, sqlite3.Error) as exc:
                raise AnalyzerError(f"cannot open the score cache: {exc}", source=str(self.path)) from exc
            self._db = db
        return self._db

    def _read_db(self, fingerprint: str, keys: list[str]) -> dict[str, Entry]:
        db = self._connect()
        out: dict[str, Entry] = {}
        for i in range(0, len(keys), _SQL_BATCH):
            part = keys[i : i + _SQL_BATCH]
            marks = ",".join("?" * len(part))
            rows = db.execute(
                f"SELECT text_hash, scores, windowed FROM scores WHERE fingerprint = ? AND text_hash IN ({marks})",
                [fingerprint, *part],
            )
            for key, scores, windowed in rows:
                out[key] = (json.loads(scores), bool(windowed))
        return out
