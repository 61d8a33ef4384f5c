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

This module is the face of the package; ``registry`` names the formats, ``detection`` tells
them apart, ``inputs`` finds and reads the files, ``guard`` runs every parse safely. The
format modules are imported only when used, so importing this package stays cheap.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from analyzer.errors import InputError
from analyzer.limits import Limits
from analyzer.parsers.base import UTC, Context, Source, aware
from analyzer.parsers.detection import detect
from analyzer.parsers.guard import apply_limits, guard, guard_iter
from analyzer.parsers.inputs import companions_of, input_units, is_conversation_folder, read, too_big
from analyzer.parsers.registry import FORMATS, parser_for
from analyzer.thread import Thread

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
    if p.is_dir() and not is_conversation_folder(p):
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
    return detect(Source(bytes(data), name))


# ---------------------------------------------------------------------- one unit of work
def _context(now: datetime | None, limits: Limits | None, columns: Mapping[str, str] | None) -> Context:
    return Context(
        now=aware(now) if now is not None else datetime.now(UTC),
        limits=limits if limits is not None else Limits.from_env(),
        columns=dict(columns or {}),
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
        yield from guard_iter(src, "reddit-dump", reddit_dump.iter_threads(src, ctx, partner), ctx)
        return
    yield from _parse_unit(path, fmt, ctx)


def _parse_unit(path: Path, fmt: str | None, ctx: Context) -> list[Thread]:
    if path.is_dir() and is_conversation_folder(path):
        if fmt not in (None, "pheme"):
            raise InputError(f"a PHEME conversation folder cannot be read as {fmt}", source=str(path))
        return guard(Source(b"", str(path), path), "pheme", lambda: _parse_folder(path, ctx))
    src = read(path, ctx)
    companions = [read(p, ctx) for p in companions_of(path, fmt)]
    if companions:
        ctx = dataclasses.replace(ctx, companions=companions)
    return _parse_source(src, fmt, ctx)


def _parse_folder(path: Path, ctx: Context) -> list[Thread]:
    from analyzer.parsers import pheme

    threads = pheme.parse_folder(path, ctx, lambda p: read(p, ctx))
    apply_limits(threads, Source(b"", str(path), path), ctx)
    return threads


def _parse_source(src: Source, fmt: str | None, ctx: Context) -> list[Thread]:
    def run() -> list[Thread]:
        if len(src.data) > ctx.limits.max_file_bytes:
            raise src.fail(too_big(len(src.data), ctx.limits.max_file_bytes))
        threads = parser_for(fmt or detect(src), src)(src, ctx)
        apply_limits(threads, src, ctx)
        return threads

    return guard(src, fmt, run)
