"""What to read, and reading it: folders walked into units of work, the files that merge
into another (Reddit 'load more' data, the other pages of a Discourse topic, a dump's
submissions file), and a file's bytes under the size limit."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from analyzer.errors import InputError
from analyzer.limits import describe_bytes, env_var
from analyzer.parsers.base import Context, Source

DATA_SUFFIXES = {".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".xml", ".txt", ".zst"}
_NOT_DATA = re.compile(r"licen[cs]e|readme|copying|notice|changelog|authors", re.IGNORECASE)
MORE_SUFFIX = "_morechildren"


def input_units(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """What to parse, one by one: files as given; folders walked (sorted, hidden entries,
    licences and READMEs skipped); a PHEME conversation folder as one unit. Files merged into
    another are dropped when that one is also there: a Reddit ``*_morechildren.json`` (or the
    files of a ``*_morechildren/`` folder) beside its thread file, a dump's submissions file
    beside its comments file, and every Discourse page of a topic but the first in its folder."""
    units: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir() and not is_conversation_folder(p):
            units.extend(walk(p))
        else:
            units.append(p)
    present = {u.absolute() for u in units}
    topics: set[tuple[Path, str]] = set()
    return [u for u in units if not _merged_elsewhere(u, present, topics)]


def _merged_elsewhere(u: Path, present: set[Path], topics: set[tuple[Path, str]]) -> bool:
    """Whether ``u`` is read as part of another unit in ``present`` (``topics``: the
    Discourse topics whose first page has been kept, updated here)."""
    from analyzer.parsers import discourse, reddit_dump

    if is_morechildren_name(u) and _thread_file_of(u).absolute() in present:
        return True
    if _in_morechildren_folder(u, present) or reddit_dump.is_partner_of_present(u, present):
        return True
    if u.suffix.lower() == ".json" and u.is_file():
        key = discourse.page_key(u)
        if key is not None:
            if (u.parent.absolute(), key) in topics:
                return True
            topics.add((u.parent.absolute(), key))
    return False


def is_conversation_folder(p: Path) -> bool:
    from analyzer.parsers import pheme

    return pheme.is_conversation_folder(p)


def is_morechildren_name(p: Path) -> bool:
    return p.stem.endswith(MORE_SUFFIX)


def _thread_file_of(p: Path) -> Path:
    return p.with_name(p.stem[: -len(MORE_SUFFIX)] + p.suffix)


def _in_morechildren_folder(p: Path, present: set[Path]) -> bool:
    """A file under ``<name>_morechildren/`` while ``<name>.json`` is being read."""
    for folder in p.parents:
        if folder.name.endswith(MORE_SUFFIX):
            return folder.with_name(folder.name[: -len(MORE_SUFFIX)] + ".json").absolute() in present
    return False


def walk(root: Path) -> list[Path]:
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
                if is_conversation_folder(path):
                    out.append(path)
                else:
                    subdirs.append(path)
            elif path.suffix.lower() in DATA_SUFFIXES and not _NOT_DATA.search(path.stem):
                out.append(path)
        stack.extend(reversed(subdirs))
    return out


def companions_of(path: Path, fmt: str | None) -> list[Path]:
    """The files merged into this one: Reddit 'load more' data beside a thread file, or the
    other pages of a Discourse topic in the same folder."""
    if is_morechildren_name(path):
        return []
    if fmt in (None, "reddit"):
        found = _morechildren_of(path)
        if found:
            return found
    if fmt in (None, "discourse") and path.suffix.lower() == ".json":
        return _other_pages_of(path)
    return []


def _morechildren_of(path: Path) -> list[Path]:
    """``<name>_morechildren.json`` and the files under ``<name>_morechildren/``, when there."""
    found: list[Path] = []
    companion = path.with_name(path.stem + MORE_SUFFIX + path.suffix)
    if companion.is_file():
        found.append(companion)
    folder = path.with_name(path.stem + MORE_SUFFIX)
    if folder.is_dir():
        found.extend(p for p in walk(folder) if p.is_file())
    return found


def _other_pages_of(path: Path) -> list[Path]:
    """The other pages of the Discourse topic ``path`` is a page of, in its folder."""
    from analyzer.parsers import discourse

    key = discourse.page_key(path)
    if key is None:
        return []
    try:
        siblings = sorted(path.parent.iterdir())
    except OSError:
        return []
    return [
        p for p in siblings if p != path and not p.name.startswith(".") and p.is_file() and discourse.page_key(p) == key
    ]


def read(path: Path, ctx: Context) -> Source:
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
            raise InputError(too_big(size, limit), source=name)
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=name) from None
    if len(data) > limit:
        raise InputError(too_big(len(data), limit), source=name)
    return Source(data, name, path)


def too_big(size: int, limit: int) -> str:
    """The message for input over the file-size limit, naming the setting that raises it."""
    return (
        f"the file is {describe_bytes(size)}, over the {describe_bytes(limit)} limit "
        f"(raise it with {env_var('max_file_bytes')})"
    )
