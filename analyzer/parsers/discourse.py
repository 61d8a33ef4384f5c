"""Discourse topics: the topic JSON (``/t/ID.json``) and its ``/t/ID/posts.json?post_number=N``
pages, ``post_stream.posts[]`` each with ``post_number``, ``reply_to_post_number``, ``cooked``
HTML, ``username`` and ``created_at``.

Post 1 is the topic's opening post; a post without ``reply_to_post_number`` answers the topic.
A topic comes in pages (20 posts each) that overlap; the pages of one topic lying in one
folder are merged into one thread (``page_key`` tells them apart without a full parse), each
post kept once, in post-number order. Quotes of other posts (``<aside class="quote">``) are
left out of a post's text: they are someone else's words.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from analyzer.parsers.base import (
    FLAG_DELETED,
    Context,
    Source,
    TimeParser,
    as_int,
    as_str,
    html_to_text,
    mapping,
    sequence,
)
from analyzer.thread import Comment, Thread

_SMALL_ACTION = 3  # post_type of "closed the topic", "pinned" and the like: not comments
_LIKE = 2  # actions_summary id of a like
_SNIFF_BYTES = 4096
_MAX_PAGE_BYTES = 50_000_000


def looks_like(doc: Any) -> bool:
    """A topic or posts page: ``{"post_stream": {"posts": [...]}}``."""
    return isinstance(doc, dict) and isinstance(mapping(doc.get("post_stream")).get("posts"), list)


def page_key(path: Path) -> str | None:
    """'<topic id>:<slug>' when the file is a Discourse page, else None; pages with one key
    belong to one topic. Cheap for other files: only their first bytes are read."""
    try:
        st = path.stat()
    except OSError:
        return None
    return _page_key(str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=4096)
def _page_key(path: str, mtime_ns: int, size: int) -> str | None:
    if size > _MAX_PAGE_BYTES or not path.lower().endswith(".json"):
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(_SNIFF_BYTES)
            if b'"post_stream"' not in head and b'"post_stream"' not in f.read(_SNIFF_BYTES * 4):
                # posts.json pages begin with it; topic JSON may put it later, so look once more
                return None
            f.seek(0)
            doc = json.loads(f.read())
    except (OSError, ValueError, RecursionError):
        return None
    return key_of(doc) if looks_like(doc) else None


def key_of(doc: dict[str, Any]) -> str | None:
    """The topic a page belongs to (its id and slug, as two forums may share an id)."""
    posts = [p for p in sequence(mapping(doc.get("post_stream")).get("posts")) if isinstance(p, dict)]
    first = posts[0] if posts else {}
    topic = as_str(doc.get("id")) or as_str(first.get("topic_id"))
    if topic is None:
        return None
    slug = as_str(doc.get("slug")) or as_str(first.get("topic_slug")) or ""
    return f"{topic}:{slug}"


def parse(src: Source, ctx: Context) -> list[Thread]:
    pages = [src, *ctx.companions]
    times = TimeParser(ctx.now)
    by_number: dict[int, Comment] = {}
    seen_ids: set[str] = set()
    title: str | None = None
    topic_id: str | None = None
    stream: list[str] = []
    small_actions = 0
    repeats: list[Comment] = []
    for page in pages:
        doc = page.json
        if not looks_like(doc):
            raise page.fail('not a Discourse topic or posts page: expected {"post_stream": {"posts": [...]}}')
        topic_id = topic_id or as_str(doc.get("id"))
        if title is None and isinstance(doc.get("title"), str):
            title = doc["title"]
        stream = stream or [
            x for x in (as_str(i) for i in sequence(mapping(doc.get("post_stream")).get("stream"))) if x
        ]
        for i, raw in enumerate(doc["post_stream"]["posts"]):
            if not isinstance(raw, dict):
                raise page.fail("a post is not an object", where=f"post_stream.posts[{i}]")
            number = as_int(raw.get("post_number"))
            if number is None or number <= 0:
                raise page.fail("a post has no post_number", where=f"post_stream.posts[{i}]")
            if as_int(raw.get("post_type")) == _SMALL_ACTION:
                small_actions += 1
                continue
            topic_id = topic_id or as_str(raw.get("topic_id"))
            pid = as_str(raw.get("id"))
            if number in by_number:
                if by_number[number].extra.get("post_id") != pid:
                    repeats.append(_post(raw, number, times))  # two posts, one number: Thread.build reports it
                continue  # the same post on an overlapping page
            if pid is not None and pid in seen_ids:
                continue
            if pid is not None:
                seen_ids.add(pid)
            by_number[number] = _post(raw, number, times)

    post = by_number.pop(1, None)
    if post is not None:
        post.kind = "post"
        if title:
            post.extra["title"] = title
    comments = [by_number[n] for n in sorted(by_number)] + repeats
    for c in comments:
        if c.parent_id == "1" and post is None:
            c.parent_id = None  # answers the opening post, which these pages do not hold
    extra: dict[str, Any] = {"title": title} if title else {}
    if stream:
        loaded = seen_ids
        missing = sum(1 for s in stream if s not in loaded)
        if missing:
            extra["not_loaded"] = missing
    if small_actions:
        extra["small_actions"] = small_actions
    if len(pages) > 1:
        extra["pages"] = len(pages)
    thread_id = f"discourse:{topic_id or src.stem}"
    return [Thread.build(thread_id, comments, post, source=src.name, format="discourse", extra=extra)]


def _post(raw: dict[str, Any], number: int, times: TimeParser) -> Comment:
    created, _ = times(raw.get("created_at"))
    reply_to = as_int(raw.get("reply_to_post_number"))
    flags: list[str] = []
    if raw.get("deleted_at") or raw.get("user_deleted") is True:
        flags.append(FLAG_DELETED)
    extra: dict[str, Any] = {}
    pid = as_str(raw.get("id"))
    if pid is not None:
        extra["post_id"] = pid
    name = as_str(raw.get("name"))
    if name:
        extra["display_name"] = name
    for key in ("reads", "reply_count", "quote_count"):
        if as_int(raw.get(key)) is not None:
            extra[key] = as_int(raw.get(key))
    likes = next(
        (as_int(a.get("count")) for a in sequence(raw.get("actions_summary")) if mapping(a).get("id") == _LIKE),
        None,
    )
    if likes is not None:
        extra["likes"] = likes
    if raw.get("hidden") is True:
        extra["hidden"] = True
    if isinstance(raw.get("post_url"), str):
        extra["url"] = raw["post_url"]
    text, quotes = _cooked_text(raw.get("cooked"))
    if quotes:
        extra["quotes"] = quotes
    return Comment(
        id=str(number),
        text=text,
        parent_id=str(reply_to) if reply_to is not None else None,
        author=as_str(raw.get("username")),
        created_at=created,
        extra=extra,
        flags=flags,
    )


def _cooked_text(cooked: Any) -> tuple[str, int]:
    """A post's own words and the number of quotes left out: a reply quoting another post
    carries that post in ``<aside class="quote">``, and a quoted insult is not the replier's."""
    if not isinstance(cooked, str):
        return "", 0
    if "<aside" not in cooked:
        return html_to_text(cooked), 0
    from bs4 import BeautifulSoup

    try:
        soup = BeautifulSoup(cooked, "html.parser")
        quotes = soup.find_all("aside", class_="quote")
        for aside in quotes:
            aside.decompose()
        markup = str(soup)
        soup.decompose()
    except RecursionError:  # pathological nesting: keep the quotes rather than fail
        return html_to_text(cooked), 0
    return html_to_text(markup), len(quotes)
