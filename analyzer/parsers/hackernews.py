"""Hacker News threads, in the two shapes people save them:

- HNPWA-style nested JSON (what HN clients and their fixtures use): the story with
  ``comments[]``, each comment ``{id, level, user, time, content, comments[]}``;
- the official API's items (``id, by, kids, parent, text, time, type, deleted, dead``) as a
  JSON list, one thread per story.

Bodies are HTML and become plain text. Nested replies are walked with a stack, never recursion.
"""

from __future__ import annotations

from typing import Any

from analyzer.parsers.base import (
    FLAG_DEAD,
    FLAG_DELETED,
    Context,
    Source,
    as_int,
    as_str,
    from_epoch,
    html_to_text,
    sequence,
)
from analyzer.thread import Comment, Thread

_STORY_TYPES = {"story", "job", "poll", "ask", "show", "link"}


def looks_like_nested(doc: Any) -> bool:
    """A story object with a ``comments`` array (HNPWA)."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("comments"), list)
        and "id" in doc
        and (
            "title" in doc
            or "level" in doc
            or "points" in doc
            or any(isinstance(c, dict) and "level" in c for c in doc["comments"][:5])
        )
    )


def looks_like_items(doc: Any) -> bool:
    """Official API items: a list of (or one) ``{id, type, by, kids | parent, ...}``."""
    items = doc if isinstance(doc, list) else [doc]
    return bool(items) and all(
        isinstance(x, dict) and "id" in x and ("type" in x or "kids" in x or "by" in x) and "comments" not in x
        for x in items[:50]
    )


def parse(src: Source, ctx: Context) -> list[Thread]:
    doc = src.json
    if looks_like_nested(doc):
        return [_nested(doc, src)]
    if looks_like_items(doc):
        return _items(doc if isinstance(doc, list) else [doc], src)
    raise src.fail("not a Hacker News thread: expected a story with comments[] or a list of API items")


def _is_story_type(item: dict[str, Any]) -> bool:
    """A story, job, poll...; ``type`` may be anything in a hostile file (a list is unhashable)."""
    kind = item.get("type")
    return isinstance(kind, str) and kind in _STORY_TYPES


def _flags(item: dict[str, Any]) -> list[str]:
    flags = []
    if item.get("deleted") is True:
        flags.append(FLAG_DELETED)
    if item.get("dead") is True:
        flags.append(FLAG_DEAD)
    return flags


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or value == "[deleted]":
        return ""
    return html_to_text(value)


def _time(item: dict[str, Any]) -> Any:
    t = item.get("time")
    return from_epoch(float(t)) if isinstance(t, (int, float)) and not isinstance(t, bool) else None


def _story(item: dict[str, Any], text_key: str, author_key: str) -> Comment:
    extra: dict[str, Any] = {}
    for key in ("title", "url", "domain", "type"):
        if isinstance(item.get(key), str):
            extra[key] = item[key]
    for key in ("points", "score", "descendants", "comments_count", "commentscount"):
        if as_int(item.get(key)) is not None:
            extra["score" if key == "points" else ("comments_count" if key == "commentscount" else key)] = as_int(
                item[key]
            )
    return Comment(
        id=as_str(item.get("id")) or "story",
        text=_text(item, text_key),
        author=as_str(item.get(author_key)),
        created_at=_time(item),
        kind="post",
        extra=extra,
        flags=_flags(item),
    )


def _nested(doc: dict[str, Any], src: Source) -> Thread:
    post = _story(doc, "content", "user")
    comments: list[Comment] = []
    stack: list[tuple[Any, str]] = [(c, post.id) for c in reversed(doc["comments"])]
    while stack:
        item, parent = stack.pop()
        if not isinstance(item, dict):
            continue
        comment = Comment(
            id=as_str(item.get("id")) or f"{parent}-{len(comments) + 1}",
            text=_text(item, "content"),
            parent_id=parent,
            author=as_str(item.get("user")),
            created_at=_time(item),
            flags=_flags(item),
        )
        level = as_int(item.get("level"))
        if level is not None:
            comment.extra["level"] = level
        comments.append(comment)
        stack.extend((k, comment.id) for k in reversed(sequence(item.get("comments"))))
    expected = as_int(doc.get("comments_count", doc.get("commentscount")))
    extra: dict[str, Any] = {"title": post.extra.get("title")}
    if expected is not None and expected > len(comments):
        extra["not_loaded"] = expected - len(comments)
    return Thread.build(f"hn:{post.id}", comments, post, source=src.name, format="hackernews", extra=extra)


def _items(items: list[Any], src: Source) -> list[Thread]:
    """Group API items into threads: each item's story is found by following ``parent``
    links upward (iteratively); children keep the order of their parent's ``kids``."""
    by_id, order, repeats = _unique_items(items)
    root_of = _roots(by_id, order)
    rank = _kid_ranks(by_id)
    position = {iid: i for i, iid in enumerate(order)}
    groups: dict[str, list[str]] = {}
    for iid in order:
        groups.setdefault(root_of[iid], []).append(iid)
    threads = []
    for root, members in groups.items():
        ordered = sorted(members, key=lambda m: (rank.get(m, 1 << 30), position[m]))
        entries = [(iid, by_id[iid]) for iid in ordered] + [(iid, it) for iid, it in repeats if root_of[iid] == root]
        threads.append(_items_thread(root, by_id.get(root), entries, src))
    return threads


def _unique_items(items: list[Any]) -> tuple[dict[str, dict[str, Any]], list[str], list[tuple[str, dict[str, Any]]]]:
    """(items by id, ids in file order, repeated ids with their items): repeats are handed
    to Thread.build, which drops and reports them."""
    by_id: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    repeats: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        iid = as_str(item.get("id"))
        if iid is None:
            continue
        if iid in by_id:
            repeats.append((iid, item))
            continue
        by_id[iid] = item
        order.append(iid)
    return by_id, order, repeats


def _roots(by_id: dict[str, dict[str, Any]], order: list[str]) -> dict[str, str]:
    """Each item's root: its story, the missing parent it hangs from, or where a parent
    cycle closes; found iteratively, each path walked once."""
    root_of: dict[str, str] = {}
    for iid in order:
        path: list[str] = []
        on_path: set[str] = set()
        node = iid
        while True:
            if node in root_of:
                root = root_of[node]
                break
            item = by_id.get(node)
            if item is None or node in on_path:  # story not in the file, or a parent cycle
                root = node
                break
            path.append(node)
            on_path.add(node)
            parent = as_str(item.get("parent"))
            if parent is None or _is_story_type(item):
                root = node
                break
            node = parent
        for p in path:
            root_of[p] = root
    return root_of


def _kid_ranks(by_id: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Each item's place among its parent's ``kids`` (the order Hacker News shows)."""
    rank: dict[str, int] = {}
    for item in by_id.values():
        for i, kid in enumerate(sequence(item.get("kids"))):
            kid_id = as_str(kid)
            if kid_id is not None:
                rank.setdefault(kid_id, i)
    return rank


def _items_thread(
    root: str, story_item: dict[str, Any] | None, entries: list[tuple[str, dict[str, Any]]], src: Source
) -> Thread:
    """One thread of API items: the story (when the root is one) and its ordered items."""
    is_story = story_item is not None and (_is_story_type(story_item) or as_str(story_item.get("parent")) is None)
    post = _story(story_item, "text", "by") if is_story and story_item is not None else None
    # A root that is an item but no story closes a parent cycle: its replies keep their
    # parent, so that Thread.build breaks the cycle and reports it.
    missing_root = post is None and story_item is None
    comments = []
    for iid, item in entries:
        if post is not None and iid == post.id and item is story_item:
            continue
        parent = as_str(item.get("parent"))
        comment = Comment(
            id=iid,
            text=_text(item, "text"),
            parent_id=None if parent == root and missing_root else parent,
            author=as_str(item.get("by")),
            created_at=_time(item),
            flags=_flags(item),
        )
        if as_int(item.get("score")) is not None:
            comment.extra["score"] = as_int(item.get("score"))
        comments.append(comment)
    extra = {"title": post.extra.get("title")} if post is not None else {}
    return Thread.build(f"hn:{root}", comments, post, source=src.name, format="hackernews", extra=extra)
