"""Reddit threads as ``/comments/<id>/.json`` returns them: ``[submission Listing, comments
Listing]``, replies nested under each comment.

Big threads come back incomplete: ``kind: more`` stubs stand for comments not sent. They are
counted and reported as not loaded (on the parent comment and the thread), unless recorded
``/api/morechildren`` responses (``<name>_morechildren.json``) are given alongside, whose
comments are merged in. ``[deleted]`` and ``[removed]`` bodies become empty text with a flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from analyzer.parsers.base import (
    FLAG_AUTHOR_DELETED,
    FLAG_DELETED,
    FLAG_REMOVED,
    Context,
    Source,
    as_int,
    as_str,
    from_epoch,
    mapping,
    sequence,
)
from analyzer.thread import Comment, Thread

_GONE = {"[deleted]": FLAG_DELETED, "[removed]": FLAG_REMOVED}


@dataclass
class _Stub:
    """A 'more' stub: ``count`` replies under ``parent`` that the page did not include."""

    parent: str | None
    count: int
    children: tuple[str, ...]


def is_morechildren(doc: Any) -> bool:
    """A recording of ``/api/morechildren`` calls: ``[{request_body, response}, ...]``."""
    return (
        isinstance(doc, list)
        and bool(doc)
        and all(isinstance(x, dict) and "response" in x and "request_body" in x for x in doc)
    )


def looks_like(doc: Any) -> bool:
    """Reddit's ``[Listing, Listing]`` (or one Listing) shape."""
    items = doc if isinstance(doc, list) else [doc]
    return bool(items) and all(isinstance(x, dict) and x.get("kind") == "Listing" for x in items)


def parse(src: Source, ctx: Context) -> list[Thread]:
    doc = src.json
    if is_morechildren(doc):
        raise src.fail(
            "this is a recording of Reddit 'load more' responses; parse the thread's own file "
            "(the one this name starts with) and these are merged in"
        )
    if not looks_like(doc):
        raise src.fail("not a Reddit comments page: expected [submission Listing, comments Listing]")
    listings = doc if isinstance(doc, list) else [doc]

    post: Comment | None = None
    things: list[Any] = []
    for listing in listings:
        for child in sequence(mapping(listing.get("data")).get("children")):
            if isinstance(child, dict) and child.get("kind") == "t3" and post is None:
                post = _submission(mapping(child.get("data")))
            else:
                things.append(child)

    comments: list[Comment] = []
    stubs: list[_Stub] = []
    seen: set[str] = set()
    links: list[str] = []
    _walk(things, comments, stubs, seen, links)

    requested: set[str] = set()
    loaded = 0
    for companion in ctx.companions:
        req, more_things = _morechildren(companion)
        requested |= req
        before = len(comments)
        _walk(more_things, comments, stubs, seen, links, page=False)
        loaded += len(comments) - before

    post_id = post.id if post is not None else None
    link_id = post_id or (links[0] if links else None)
    if post_id is None and link_id is not None:
        for c in comments:
            if c.parent_id == link_id:  # replies to a submission the file does not contain
                c.parent_id = None

    by_id = {c.id: c for c in comments}
    not_loaded = unresolved = continues = 0
    for stub in stubs:
        if stub.children and all(ch in requested or ch in by_id for ch in stub.children):
            continue  # expanded by the recorded 'load more' responses
        unresolved += 1
        target = by_id.get(stub.parent) if stub.parent else None
        holder = target if target is not None else post
        if stub.count == 0 and not stub.children:
            continues += 1
            if holder is not None:
                holder.extra["more_continue_thread"] = True
            continue
        not_loaded += stub.count
        if holder is not None:
            holder.extra["more_not_loaded"] = holder.extra.get("more_not_loaded", 0) + stub.count

    extra: dict[str, Any] = {
        "not_loaded": not_loaded,
        "more": {
            "stubs": len(stubs),
            "unresolved_stubs": unresolved,
            "continue_thread_links": continues,
            "loaded_from_morechildren": loaded,
        },
    }
    if post is not None:
        post.extra["not_loaded"] = not_loaded
        extra["title"] = post.extra.get("title")
    thread_id = f"reddit:{link_id or src.stem}"
    return [Thread.build(thread_id, comments, post, source=src.name, format="reddit", extra=extra)]


def _strip_prefix(fullname: str | None) -> str | None:
    """'t1_abc' → 'abc'."""
    if fullname and len(fullname) > 3 and fullname[0] == "t" and fullname[2] == "_":
        return fullname[3:]
    return fullname


def _walk(
    things: list[Any], out: list[Comment], stubs: list[_Stub], seen: set[str], links: list[str], *, page: bool = True
) -> None:
    """Comments and 'more' stubs, nested replies included, in page order, without recursion.
    ``links`` receives the submission id the comments name (for files without the submission).
    A comment id seen before is skipped when a 'load more' response repeats it (``page``
    False); on the page itself it is kept, so that Thread.build drops and reports it."""
    stack: list[tuple[Any, str | None]] = [(t, None) for t in reversed(things)]
    while stack:
        thing, nest_parent = stack.pop()
        if not isinstance(thing, dict):
            continue
        kind = thing.get("kind")
        data = mapping(thing.get("data"))
        parent = _strip_prefix(as_str(data.get("parent_id"))) or nest_parent
        if kind == "more":
            children = tuple(x for x in (as_str(ch) for ch in sequence(data.get("children"))) if x)
            stubs.append(_Stub(parent, max(as_int(data.get("count")) or 0, 0), children))
            continue
        if kind != "t1":
            continue
        comment = _comment(data, parent, fallback_id=f"unnamed-{len(out) + 1}")
        if not links:
            link = _strip_prefix(as_str(data.get("link_id")))
            if link:
                links.append(link)
        replies = mapping(mapping(data.get("replies")).get("data")).get("children")
        if comment.id in seen and not page:  # a 'load more' response repeating a comment already on the page
            continue
        seen.add(comment.id)
        out.append(comment)
        stack.extend((r, comment.id) for r in reversed(sequence(replies)))


def _comment(data: dict[str, Any], parent: str | None, fallback_id: str) -> Comment:
    body = data.get("body")
    text = body if isinstance(body, str) else ""
    flags: list[str] = []
    if text in _GONE:
        flags.append(_GONE[text])
        text = ""
    author = as_str(data.get("author"))
    if author in _GONE:
        if not flags:
            flags.append(FLAG_AUTHOR_DELETED)
        author = None
    extra: dict[str, Any] = {}
    score = as_int(data.get("score"))
    if score is not None:
        extra["score"] = score
    if as_int(data.get("controversiality")):
        extra["controversiality"] = as_int(data.get("controversiality"))
    if data.get("edited") not in (None, False, 0):
        extra["edited"] = True
    if isinstance(data.get("distinguished"), str):
        extra["distinguished"] = data["distinguished"]
    if data.get("stickied") is True:
        extra["stickied"] = True
    created = data.get("created_utc")
    return Comment(
        id=as_str(data.get("id")) or _strip_prefix(as_str(data.get("name"))) or fallback_id,
        text=text,
        parent_id=parent,
        author=author,
        created_at=from_epoch(float(created))
        if isinstance(created, (int, float)) and not isinstance(created, bool)
        else None,
        extra=extra,
        flags=flags,
    )


def _submission(data: dict[str, Any]) -> Comment:
    post = _comment({**data, "body": data.get("selftext")}, None, fallback_id="submission")
    post.kind = "post"
    for key in ("title", "url", "subreddit", "permalink"):
        value = data.get(key)
        if isinstance(value, str):
            post.extra[key] = value
    if as_int(data.get("num_comments")) is not None:
        post.extra["num_comments"] = as_int(data.get("num_comments"))
    return post


def _morechildren(src: Source) -> tuple[set[str], list[Any]]:
    """The ids asked for and the things returned by recorded ``/api/morechildren`` calls."""
    doc = src.json
    if not is_morechildren(doc):
        raise src.fail("not a recording of Reddit /api/morechildren responses")
    requested: set[str] = set()
    things: list[Any] = []
    for call in doc:
        body = call.get("request_body")
        if isinstance(body, str):
            for value in parse_qs(body).get("children", []):
                requested.update(x for x in value.split(",") if x)
        payload = mapping(mapping(mapping(call.get("response")).get("json")).get("data"))
        things.extend(sequence(payload.get("things")))
    return requested, things
