"""What a parser must do with any bytes, checked the same way by every fuzzer.

``parse_bytes`` either returns threads or raises an ``InputError`` that is deliberate (no
``__cause__``: ``analyzer.parsers`` chains the original exception when it converts a crash,
so a chained error is a parser bug), on one line and naming the input. Threads that come
back must be sound trees: unique ids, every parent present, depths consistent, every comment
reachable once from the root, ids, authors and texts that UTF-8 can carry, records that
serialise to JSON. Anything else raises
``ContractViolation`` (or lets the crash itself through) for the fuzzer to report.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from analyzer.errors import InputError
from analyzer.parsers import FORMATS, parse_bytes
from analyzer.thread import Thread

NOW = datetime(2024, 5, 10, tzinfo=timezone.utc)
AUTO = "auto"
TARGETS: tuple[str, ...] = (AUTO, *FORMATS)
"""What can be fuzzed: format detection plus every parser."""

_SUFFIX = {
    AUTO: "dat",
    "pasted": "txt",
    "reddit": "json",
    "hackernews": "json",
    "youtube": "json",
    "disqus": "xml",
    "csv": "csv",
    "jsonl": "jsonl",
    "pheme": "jsonl",
    "discourse": "json",
    "bluesky": "json",
    "mastodon": "json",
    "x": "json",
    "reddit-dump": "ndjson",
}


class ContractViolation(AssertionError):
    """A parser broke its contract without raising an exception of its own."""


def input_name(target: str) -> str:
    """The file name an input is parsed under (detection looks at the suffix)."""
    return f"fuzz-input.{_SUFFIX[target]}"


def check(data: bytes, target: str) -> list[Thread] | None:
    """Parse ``data`` as ``target`` (a format, or ``auto`` to detect it); None when refused."""
    name = input_name(target)
    try:
        threads = parse_bytes(data, name=name, format=None if target == AUTO else target, now=NOW)
    except InputError as exc:
        if exc.__cause__ is not None:
            raise ContractViolation(f"a crash was turned into an InputError: {exc}") from exc.__cause__
        message = str(exc)
        if "\n" in message or not message.startswith(name):
            raise ContractViolation(f"an error that is not one line naming the input: {message!r}") from None
        return None
    for thread in threads:
        check_thread(thread)
    return threads


def check_thread(thread: Thread) -> None:
    """The tree invariants every parsed thread must hold."""
    ids = [c.id for c in thread.comments]
    if len(set(ids)) != len(ids):
        raise ContractViolation(f"thread {thread.id!r}: duplicate comment ids survived")
    if thread.post is not None and thread.post.id in set(ids):
        raise ContractViolation(f"thread {thread.id!r}: a comment has the post's id")
    root = thread.root_key
    for c in thread.comments:
        if c.parent_id != root and c.parent_id not in thread:
            raise ContractViolation(f"thread {thread.id!r}: comment {c.id!r} has a missing parent {c.parent_id!r}")
        parent = thread.parent(c.id)
        expected = parent.depth + 1 if parent is not None and parent.kind == "comment" else 1
        if c.depth != expected:
            raise ContractViolation(f"thread {thread.id!r}: comment {c.id!r} at depth {c.depth}, expected {expected}")
    seen = [c.id for c in thread.traverse("preorder", include_post=False)]
    if sorted(seen) != sorted(ids):
        raise ContractViolation(f"thread {thread.id!r}: {len(ids)} comments but {len(seen)} reachable from the root")
    for c in ([thread.post] if thread.post is not None else []) + thread.comments:
        for value in (thread.id, c.id, c.parent_id, c.author, c.text):
            try:
                (value or "").encode("utf-8")
            except UnicodeEncodeError:
                raise ContractViolation(f"thread {thread.id!r}: {value!r} cannot be written as UTF-8") from None
    records = list(thread.records())
    if len(records) != len(ids) + (thread.post is not None):
        raise ContractViolation(f"thread {thread.id!r}: records do not cover the thread")
    json.dumps(records, default=str, ensure_ascii=False)
