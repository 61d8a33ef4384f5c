"""Every comment source a community manager can get hold of, read into ``Thread`` objects.

``parse_path`` reads a file or a folder of files, ``parse_bytes`` an upload or a paste. The
format is detected from the content (``detect_format``) unless named (one of ``FORMATS``).
Whatever the bytes, the only exception that leaves is ``InputError``, naming the file and,
where known, the line or element: random bytes must not crash the tool that reads them.

Some inputs span files: a Reddit thread with its 'load more' responses beside it
(``<name>_morechildren.json`` or the folder ``<name>_morechildren/``), the pages of one
Discourse topic in one folder, a Reddit dump with its submissions file (``RS_`` beside
``RC_``). ``input_units`` names each such group once, by its first file, and parsing that file
merges the rest in.

Reddit dumps are streamed (``iter_threads``): bigger than memory, they are read one thread at
a time and are not held to the file-size limit.

The format modules are imported only when used, so importing this package stays cheap.
"""

from __future__ import annotations

import csv
import dataclasses
import gc
import importlib
import itertools
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from analyzer.errors import InputError
from analyzer.limits import Limits, describe_bytes, env_var
from analyzer.parsers.base import FLAG_TRUNCATED, UTC, Context, Source, aware
from analyzer.text import clean_json_value, without_lone_surrogates
from analyzer.thread import Thread

# name -> what it reads (the names ``--format`` accepts)
FORMATS: dict[str, str] = {
    "pasted": "a comment section copied from a web page as plain text (layouts: wpdiscuz)",
    "reddit": "Reddit /comments/<id>/.json; 'load more' bodies in <name>_morechildren.json or <name>_morechildren/ merged in",
    "hackernews": "Hacker News: HNPWA-style nested JSON, or a JSON list of official API items",
    "youtube": "YouTube Data API v3 comment threads, comments, or single resources",
    "disqus": "a Disqus XML export",
    "csv": "CSV or TSV with a header row (id, parent, thread, author, time, text columns)",
    "jsonl": "JSON Lines, or a JSON array of objects, with the same columns as csv",
    "pheme": "a PHEME/RumourEval Twitter conversation folder, or its structure-only JSON Lines",
    "discourse": "Discourse topic JSON (/t/<id>.json) and /t/<id>/posts.json pages; pages of a topic merge",
    "bluesky": "Bluesky app.bsky.feed.getPostThread responses",
    "mastodon": "Mastodon /api/v1/statuses/<id>/context, with or without the status itself",
    "x": "X/Twitter: v2 API conversation responses, or the web client's GraphQL TweetDetail",
    "reddit-dump": "Pushshift / Arctic Shift NDJSON dumps (.zst too), streamed, one thread per link_id",
}

_PARSERS: dict[str, str] = {
    "pasted": "analyzer.parsers.pasted:parse",
    "reddit": "analyzer.parsers.reddit:parse",
    "hackernews": "analyzer.parsers.hackernews:parse",
    "youtube": "analyzer.parsers.youtube:parse",
    "disqus": "analyzer.parsers.disqus:parse",
    "csv": "analyzer.parsers.tabular:parse_csv",
    "jsonl": "analyzer.parsers.tabular:parse_jsonl",
    "pheme": "analyzer.parsers.pheme:parse_structure",
    "discourse": "analyzer.parsers.discourse:parse",
    "bluesky": "analyzer.parsers.bluesky:parse",
    "mastodon": "analyzer.parsers.mastodon:parse",
    "x": "analyzer.parsers.twitter:parse",
    "reddit-dump": "analyzer.parsers.reddit_dump:parse",
}

_DATA_SUFFIXES = {".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".xml", ".txt", ".zst"}
_NOT_DATA = re.compile(r"licen[cs]e|readme|copying|notice|changelog|authors", re.IGNORECASE)
_MORE_SUFFIX = "_morechildren"

__all__ = [
    "FORMATS",
    "detect_format",
    "input_units",
    "iter_records",
    "iter_threads",
    "parse_bytes",
    "parse_path",
]


# ---------------------------------------------------------------------- public API
def parse_path(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    now: datetime | None = None,
    limits: Limits | None = None,
    columns: Mapping[str, str] | None = None,
) -> list[Thread]:
    """Threads in a file, or in every data file under a folder (see ``input_units``).
    ``now`` resolves relative times ('4 months ago'; default: the current time);
    ``columns`` names tabular columns by role (``{"text": "message"}``)."""
    ctx = _context(now, limits, columns)
    p = Path(path)
    if p.is_dir() and not _is_conversation_folder(p):
        units = input_units([p])
        return [t for unit in units for t in _iter_unit(unit, format, ctx)]
    return list(_iter_unit(p, format, ctx))


def iter_threads(
    paths: Iterable[str | os.PathLike[str]],
    *,
    format: str | None = None,
    now: datetime | None = None,
    limits: Limits | None = None,
    columns: Mapping[str, str] | None = None,
) -> Iterator[Thread]:
    """The threads of every input, one at a time: a Reddit dump bigger than memory is read
    thread by thread (its every line checked before the first thread comes); other files
    are parsed whole, one after the other."""
    ctx = _context(now, limits, columns)
    for unit in input_units(paths):
        yield from _iter_unit(unit, format, ctx)


def parse_bytes(
    data: bytes,
    *,
    name: str,
    format: str | None = None,
    now: datetime | None = None,
    limits: Limits | None = None,
    columns: Mapping[str, str] | None = None,
) -> list[Thread]:
    """Threads in an upload or paste; ``name`` is used in errors and as a default thread id."""
    ctx = _context(now, limits, columns)
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _parse_source(Source(bytes(data), name), format, ctx)


def iter_records(
    paths: Iterable[str | os.PathLike[str]],
    *,
    format: str | None = None,
    now: datetime | None = None,
    limits: Limits | None = None,
    columns: Mapping[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Parse records (see ``Thread.records``) of every thread in ``paths``, thread by thread."""
    for thread in iter_threads(paths, format=format, now=now, limits=limits, columns=columns):
        yield from thread.records()


def detect_format(data: bytes, *, name: str = "<input>") -> str:
    """The format name for these bytes (``name`` helps: '.csv', '.jsonl'); ``InputError``
    when no format fits."""
    return _detect(Source(bytes(data), name))


def input_units(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """What to parse, one by one: files as given; folders walked (sorted, hidden entries,
    licences and READMEs skipped); a PHEME conversation folder as one unit. Files merged into
    another are dropped when that one is also there: a Reddit ``*_morechildren.json`` (or the
    files of a ``*_morechildren/`` folder) beside its thread file, a dump's submissions file
    beside its comments file, and every Discourse page of a topic but the first in its folder."""
    from analyzer.parsers import discourse, reddit_dump

    units: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir() and not _is_conversation_folder(p):
            units.extend(_walk(p))
        else:
            units.append(p)
    present = {u.absolute() for u in units}
    kept: list[Path] = []
    topics: set[tuple[Path, str]] = set()
    for u in units:
        if _is_morechildren_name(u) and _thread_file_of(u).absolute() in present:
            continue
        if _in_morechildren_folder(u, present) or reddit_dump.is_partner_of_present(u, present):
            continue
        if u.suffix.lower() == ".json" and u.is_file():
            key = discourse.page_key(u)
            if key is not None:
                if (u.parent.absolute(), key) in topics:
                    continue
                topics.add((u.parent.absolute(), key))
        kept.append(u)
    return kept


# ---------------------------------------------------------------------- internals
def _context(now: datetime | None, limits: Limits | None, columns: Mapping[str, str] | None) -> Context:
    return Context(
        now=aware(now) if now is not None else datetime.now(UTC),
        limits=limits if limits is not None else Limits.from_env(),
        columns=dict(columns or {}),
    )


def _is_conversation_folder(p: Path) -> bool:
    from analyzer.parsers import pheme

    return pheme.is_conversation_folder(p)


def _is_morechildren_name(p: Path) -> bool:
    return p.stem.endswith(_MORE_SUFFIX)


def _thread_file_of(p: Path) -> Path:
    return p.with_name(p.stem[: -len(_MORE_SUFFIX)] + p.suffix)


def _in_morechildren_folder(p: Path, present: set[Path]) -> bool:
    """A file under ``<name>_morechildren/`` while ``<name>.json`` is being read."""
    for folder in p.parents:
        if folder.name.endswith(_MORE_SUFFIX):
            return folder.with_name(folder.name[: -len(_MORE_SUFFIX)] + ".json").absolute() in present
    return False


def _walk(root: Path) -> list[Path]:
    """Data files and conversation folders under ``root``, iteratively, in sorted order."""
    out: list[Path] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            raise InputError(f"cannot list the folder: {exc.strerror}", source=str(folder)) from None
        subdirs = []
        for e in entries:
            if e.name.startswith("."):
                continue
            path = Path(e.path)
            if e.is_dir():
                if _is_conversation_folder(path):
                    out.append(path)
                else:
                    subdirs.append(path)
            elif path.suffix.lower() in _DATA_SUFFIXES and not _NOT_DATA.search(path.stem):
                out.append(path)
        stack.extend(reversed(subdirs))
    return out


def _read(path: Path, ctx: Context) -> Source:
    """A file's bytes, refusing what is missing, not a regular file, or over the size limit."""
    name = str(path)
    limit = ctx.limits.max_file_bytes
    try:
        if not path.exists():
            raise InputError("no such file or folder", source=name)
        if not path.is_file():
            raise InputError("not a regular file", source=name)
        size = path.stat().st_size
        if size > limit:
            raise InputError(_too_big(size, limit), source=name)
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=name) from None
    if len(data) > limit:
        raise InputError(_too_big(len(data), limit), source=name)
    return Source(data, name, path)


def _too_big(size: int, limit: int) -> str:
    return (
        f"the file is {describe_bytes(size)}, over the {describe_bytes(limit)} limit "
        f"(raise it with {env_var('max_file_bytes')})"
    )


def _iter_unit(path: Path, fmt: str | None, ctx: Context) -> Iterator[Thread]:
    """The threads of one unit: a Reddit dump streamed, anything else parsed whole."""
    from analyzer.parsers import reddit_dump

    if fmt == "reddit-dump" or (fmt is None and reddit_dump.is_dump_path(path)):
        if not path.is_file():
            raise InputError("no such file" if not path.exists() else "not a regular file", source=str(path))
        src = Source(b"", str(path), path)
        partner_path = reddit_dump.submissions_partner(path)
        partner = Source(b"", str(partner_path), partner_path) if partner_path is not None else None
        yield from _guard_iter(src, "reddit-dump", reddit_dump.iter_threads(src, ctx, partner), ctx)
        return
    yield from _parse_unit(path, fmt, ctx)


def _parse_unit(path: Path, fmt: str | None, ctx: Context) -> list[Thread]:
    if path.is_dir() and _is_conversation_folder(path):
        if fmt not in (None, "pheme"):
            raise InputError(f"a PHEME conversation folder cannot be read as {fmt}", source=str(path))
        return _guard(Source(b"", str(path), path), "pheme", lambda: _parse_folder(path, ctx))
    src = _read(path, ctx)
    companions = [_read(p, ctx) for p in _companions_of(path, fmt)]
    if companions:
        ctx = dataclasses.replace(ctx, companions=companions)
    return _parse_source(src, fmt, ctx)


def _companions_of(path: Path, fmt: str | None) -> list[Path]:
    """The files merged into this one: Reddit 'load more' data beside a thread file, or the
    other pages of a Discourse topic in the same folder."""
    if _is_morechildren_name(path):
        return []
    if fmt in (None, "reddit"):
        found: list[Path] = []
        companion = path.with_name(path.stem + _MORE_SUFFIX + path.suffix)
        if companion.is_file():
            found.append(companion)
        folder = path.with_name(path.stem + _MORE_SUFFIX)
        if folder.is_dir():
            found.extend(p for p in _walk(folder) if p.is_file())
        if found:
            return found
    if fmt in (None, "discourse") and path.suffix.lower() == ".json":
        from analyzer.parsers import discourse

        key = discourse.page_key(path)
        if key is not None:
            try:
                siblings = sorted(path.parent.iterdir())
            except OSError:
                return []
            return [
                p
                for p in siblings
                if p != path and not p.name.startswith(".") and p.is_file() and discourse.page_key(p) == key
            ]
    return []


def _parse_folder(path: Path, ctx: Context) -> list[Thread]:
    from analyzer.parsers import pheme

    threads = pheme.parse_folder(path, ctx, lambda p: _read(p, ctx))
    _apply_limits(threads, Source(b"", str(path), path), ctx)
    return threads


def _parse_source(src: Source, fmt: str | None, ctx: Context) -> list[Thread]:
    def run() -> list[Thread]:
        if len(src.data) > ctx.limits.max_file_bytes:
            raise src.fail(_too_big(len(src.data), ctx.limits.max_file_bytes))
        name = fmt or _detect(src)
        if name not in _PARSERS:
            raise src.fail(f"unknown format {name!r}; formats are: {', '.join(FORMATS)}")
        module, attr = _PARSERS[name].split(":")
        threads = getattr(importlib.import_module(module), attr)(src, ctx)
        _apply_limits(threads, src, ctx)
        return threads

    return _guard(src, fmt, run)


def _guard_iter(src: Source, fmt: str, threads: Iterator[Thread], ctx: Context) -> Iterator[Thread]:
    """``_guard`` for a stream of threads: each step guarded, each thread held to the limits."""
    while True:
        batch = _guard(src, fmt, lambda: [t for t in itertools.islice(threads, 1)])
        if not batch:
            return
        _apply_limits(batch, src, ctx)
        yield batch[0]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsing allocates millions of objects that all stay alive; Python's cycle collector
    would rescan them again and again (40% of the time for big files). Parsers make no
    reference cycles that outlive a comment, so collecting is left for afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _guard(src: Source, fmt: str | None, run: Any) -> list[Thread]:
    """Run a parse; anything but an ``InputError`` becomes one (chained, so tests can tell
    a deliberate refusal from a parser bug)."""
    try:
        with _gc_paused():
            return run()
    except InputError:
        raise
    except RecursionError as exc:
        raise src.fail("nested too deeply to read") from exc
    except MemoryError as exc:
        raise src.fail("too large to parse in the memory available") from exc
    except Exception as exc:
        what = f"as {fmt}" if fmt else "in any known format"
        raise src.fail(f"could not be read {what}: {type(exc).__name__}: {exc}") from exc


def _apply_limits(threads: list[Thread], src: Source, ctx: Context) -> None:
    """Refuse oversized threads; cut overlong texts, flagging them with their length.

    Also replaces lone surrogates in texts, author names and platform extras with U+FFFD:
    JSON can escape half a character ("\\ud83d"), and no encoder, tokenizer or database
    accepts one."""
    max_comments = ctx.limits.max_comments_per_thread
    max_chars = ctx.limits.max_comment_chars
    for t in threads:
        if len(t.comments) > max_comments:
            raise src.fail(
                f"thread {t.id} has {len(t.comments):,} comments, over the limit of {max_comments:,} "
                f"(raise it with {env_var('max_comments_per_thread')})"
            )
        nodes = itertools.chain((t.post,), t.comments) if t.post is not None else t.comments
        cut = 0
        for c in nodes:
            c.text = without_lone_surrogates(c.text)
            if c.author is not None:
                c.author = without_lone_surrogates(c.author)
            if c.extra:
                c.extra = clean_json_value(c.extra)
            if len(c.text) > max_chars:
                c.extra["original_length"] = len(c.text)
                c.text = c.text[:max_chars]
                c.flags.append(FLAG_TRUNCATED)
                cut += 1
        if cut:
            t.extra["truncated_comments"] = cut  # summaries say so, naming the limit


def _detect(src: Source) -> str:
    """Content first (XML, JSON shapes, copied-page layouts), the file name for ties."""
    from analyzer.parsers import reddit_dump

    if reddit_dump.is_zstd(src.data[:4]):
        return "reddit-dump"
    src.check_text()
    lower = src.name.lower()
    head = src.data[:65536].decode(src.encoding, errors="ignore").lstrip("\ufeff \t\r\n")
    if not head:
        raise src.fail("the file is empty")
    first = head[0]

    if first == "<":
        from analyzer.parsers import disqus

        if disqus.looks_like(head[:4096]):
            return "disqus"
        if head[:200].lower().lstrip().startswith(("<!doctype html", "<html")):
            raise src.fail("this is an HTML page; copy the page's text from the browser and paste that instead")
        raise src.fail("XML that is not a Disqus export (no <disqus> root)")

    if first in "[{":
        if lower.endswith((".jsonl", ".ndjson")) or _first_line_is_a_record(src, head):
            return _jsonl_kind(head, src)
        return _json_kind(src)

    from analyzer.parsers import pasted

    if lower.endswith((".csv", ".tsv", ".tab")):
        return "csv"
    if pasted.detect_profile(src.text) is not None:
        return "pasted"
    if _looks_like_csv_header(head, src):
        return "csv"
    raise src.fail(
        "unknown format: not JSON, XML, CSV with a text column, or a copied comment page in a known "
        f"layout ({', '.join(pasted.PROFILES)}); name the format with --format"
    )


def _first_line_is_a_record(src: Source, head: str) -> bool:
    """JSON Lines: the first line alone is a JSON object and more follows."""
    newline = head.find("\n")
    if newline < 0:
        return False
    try:
        return isinstance(json.loads(head[:newline]), dict) and bool(head[newline:].strip())
    except (ValueError, RecursionError):
        return False


def _jsonl_kind(head: str, src: Source) -> str:
    from analyzer.parsers import pheme, reddit_dump

    line = head.split("\n", 1)[0]
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):
        return "jsonl"  # the parser reports the bad line
    if reddit_dump.kind_of_row(row) is not None:
        return "reddit-dump"
    return "pheme" if pheme.looks_like_structure_row(row) else "jsonl"


def _json_kind(src: Source) -> str:
    from analyzer.parsers import bluesky, discourse, hackernews, mastodon, reddit, twitter, youtube

    doc = src.json
    if reddit.looks_like(doc) or reddit.is_morechildren(doc):
        return "reddit"
    if discourse.looks_like(doc):
        return "discourse"
    if bluesky.looks_like(doc):
        return "bluesky"
    if mastodon.looks_like(doc):
        return "mastodon"
    if twitter.looks_like(doc):
        return "x"
    if hackernews.looks_like_nested(doc):
        return "hackernews"
    if youtube.looks_like(doc):
        return "youtube"
    if hackernews.looks_like_items(doc):
        return "hackernews"
    rows = doc if isinstance(doc, list) else [doc]
    if rows and isinstance(rows[0], dict):
        from analyzer.parsers.tabular import resolve_columns

        if "text" in resolve_columns(rows[0].keys(), {}, src):
            return "jsonl"
    raise src.fail(
        "JSON of an unknown shape: not Reddit, Hacker News, YouTube, Discourse, Bluesky, Mastodon, X, "
        "or records with a text field; "
        "name the format with --format"
    )


def _looks_like_csv_header(head: str, src: Source) -> bool:
    from analyzer.parsers.tabular import guess_delimiter, resolve_columns

    line = head.split("\n", 1)[0].rstrip("\r")
    if not line or len(line) > 2000:
        return False
    try:
        header = next(csv.reader([line], delimiter=guess_delimiter(line, src.name)))
    except (csv.Error, StopIteration):
        return False
    return "text" in resolve_columns(header, {}, src)
