"""Twitter conversations in the PHEME / RumourEval layout.

- A conversation folder: ``source-tweet/<id>.json``, ``replies/<id>.json`` (Twitter API tweet
  objects) and ``structure.json`` (the reply tree as nested objects). Replies link through
  ``in_reply_to_status_id_str``; the structure fills gaps and tells which tweets are missing.
- A structure-only JSON Lines file (``threads.jsonl``: one conversation a line with its
  nested ``structure``): the tree without texts, flagged ``text_missing``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from analyzer.parsers.base import (
    FLAG_TEXT_MISSING,
    Context,
    Source,
    TimeParser,
    as_int,
    as_str,
    load_json,
    mapping,
)
from analyzer.parsers.tabular import json_rows
from analyzer.thread import Comment, Thread


def is_conversation_folder(path: Path) -> bool:
    return (path / "source-tweet").is_dir() and (path / "replies").is_dir()


def _structure_parents(structure: Any) -> tuple[str | None, dict[str, str | None]]:
    """Root id and child → parent for a nested ``{id: {id: {...}, id: []}}`` tree, iteratively."""
    parents: dict[str, str | None] = {}
    root: str | None = None
    stack: list[tuple[Any, str | None]] = [(structure, None)]
    while stack:
        node, parent = stack.pop()
        if not isinstance(node, dict):
            continue
        items = list(node.items())
        for key, _ in items:
            if parent is None and root is None:
                root = key
            parents.setdefault(key, parent)
        stack.extend((sub, key) for key, sub in reversed(items))
    return root, parents


def _tweet(doc: Any, times: TimeParser) -> Comment | None:
    if not isinstance(doc, dict):
        return None
    tid = as_str(doc.get("id_str")) or as_str(doc.get("id"))
    if tid is None:
        return None
    text = doc.get("full_text", doc.get("text"))
    created, _ = times(doc.get("created_at"))
    extra: dict[str, Any] = {}
    for key in ("retweet_count", "favorite_count"):
        if as_int(doc.get(key)) is not None:
            extra[key] = as_int(doc.get(key))
    if isinstance(doc.get("lang"), str):
        extra["lang"] = doc["lang"]
    return Comment(
        id=tid,
        text=text if isinstance(text, str) else "",
        parent_id=as_str(doc.get("in_reply_to_status_id_str")),
        author=as_str(mapping(doc.get("user")).get("screen_name")),
        created_at=created,
        extra=extra,
    )


def parse_folder(folder: Path, ctx: Context, read: Callable[[Path], Source]) -> list[Thread]:
    """One conversation folder; ``read`` loads a file with the size limits applied."""
    times = TimeParser(ctx.now)
    sources = sorted((folder / "source-tweet").glob("*.json"))
    if not sources:
        raise read(folder / "source-tweet").fail("no source tweet in source-tweet/")
    post = _tweet(load_json(read(sources[0]).text, read(sources[0])), times)
    if post is None:
        raise read(sources[0]).fail("not a tweet object (no id)")
    comments: list[Comment] = []
    for path in sorted((folder / "replies").glob("*.json")):
        src = read(path)
        tweet = _tweet(load_json(src.text, src), times)
        if tweet is None:
            raise src.fail("not a tweet object (no id)")
        comments.append(tweet)

    parents: dict[str, str | None] = {}
    structure_path = folder / "structure.json"
    if structure_path.is_file():
        src = read(structure_path)
        _, parents = _structure_parents(load_json(src.text, src))
    for c in comments:
        if c.parent_id is None:
            c.parent_id = parents.get(c.id)
    have = {post.id, *(c.id for c in comments)}
    missing = [i for i in parents if i not in have]
    comments.sort(key=lambda c: (c.created_at is None, c.created_at.timestamp() if c.created_at else 0.0, c.id))
    extra: dict[str, Any] = {"not_loaded": len(missing)} if missing else {}
    return [Thread.build(post.id, comments, post, source=str(folder), format="pheme", extra=extra)]


def looks_like_structure_row(row: Any) -> bool:
    return isinstance(row, dict) and isinstance(row.get("structure"), dict) and "text" not in row


def parse_structure(src: Source, ctx: Context) -> list[Thread]:
    """``threads.jsonl``: reply trees without texts."""
    threads = []
    for n, row in json_rows(src):
        if not looks_like_structure_row(row):
            raise src.fail("expected an object with a nested 'structure'", where=f"line {n}")
        root, parents = _structure_parents(row["structure"])
        if root is None:
            raise src.fail("empty structure", where=f"line {n}")
        extra = {k: v for k, v in row.items() if k != "structure" and not isinstance(v, (dict, list))}
        post = Comment(id=root, text="", kind="post", flags=[FLAG_TEXT_MISSING])
        comments = [
            Comment(id=cid, text="", parent_id=pid, flags=[FLAG_TEXT_MISSING])
            for cid, pid in parents.items()
            if cid != root
        ]
        tid = as_str(row.get("conversation_id")) or root
        threads.append(Thread.build(tid, comments, post, source=src.name, format="pheme", extra=extra))
    if not threads:
        raise src.fail("no rows")
    return threads
