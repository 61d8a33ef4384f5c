"""Reddit threads as ``/comments/<id>/.json`` returns them: ``[submission Listing, comments
Listing]``, replies nested under each comment.

Big threads come back incomplete: ``kind: more`` stubs stand for comments not sent. They are
counted and reported as not loaded (on the parent comment and the thread), unless what Reddit
sends for them is given alongside, as ``<name>_morechildren.json`` or in a folder
``<name>_morechildren/``: ``/api/morechildren`` bodies as Reddit returns them
(``{"json": {"errors": [], "data": {"things": [...]}}}``, one or a JSON list of them), our
``[{request_body, response}]`` recordings, or the listings of "continue this thread" links
(``/comments/ID/_/COMMENT``). Their comments are merged in, each once.
``[deleted]`` and ``[removed]`` bodies become empty text with a flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


def _is_recorded_call(x: Any) -> bool:
    return isinstance(x, dict) and "response" in x and "request_body" in x


def is_raw_body(x: Any) -> bool:
    """An ``/api/morechildren`` response body: ``{"json": {"errors": [...], "data": {"things": [...]}}}``."""
    body = x.get("json") if isinstance(x, dict) else None
    return isinstance(body, dict) and ("errors" in body or isinstance(mapping(body.get("data")).get("things"), list))


def is_morechildren(doc: Any) -> bool:
    """'Load more' responses: our recording ``[{request_body, response}, ...]``, a raw body,
    or a JSON list of raw bodies."""
    if is_raw_body(doc):
        return True
    return isinstance(doc, list) and bool(doc) and all(_is_recorded_call(x) or is_raw_body(x) for x in doc)


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
    post, things = _post_and_things(doc if isinstance(doc, list) else [doc])
    comments: list[Comment] = []
    stubs: list[_Stub] = []
    seen: set[str] = set()
    links: list[str] = []
    _walk(things, comments, stubs, seen, links)
    more = _merge_companions(ctx, comments, stubs, seen, links)

    post_id = post.id if post is not None else None
    link_id = post_id or (links[0] if links else None)
    if post_id is None and link_id is not None:
        for c in comments:
            if c.parent_id == link_id:  # replies to a submission the file does not contain
                c.parent_id = None
    not_loaded, unresolved, continues = _settle_stubs(stubs, {c.id: c for c in comments}, post, more)
    extra: dict[str, Any] = {
        "not_loaded": not_loaded,
        "more": {
            "stubs": len(stubs),
            "unresolved_stubs": unresolved,
            "continue_thread_links": continues,
            "loaded_from_morechildren": more.loaded,
        },
    }
    if post is not None:
        post.extra["not_loaded"] = not_loaded
        extra["title"] = post.extra.get("title")
    thread_id = f"reddit:{link_id or src.stem}"
    return [Thread.build(thread_id, comments, post, source=src.name, format="reddit", extra=extra)]


def _post_and_things(listings: list[Any]) -> tuple[Comment | None, list[Any]]:
    """The submission (the first ``t3``) and every other child of the listings, in order."""
    post: Comment | None = None
    things: list[Any] = []
    for listing in listings:
        for child in sequence(mapping(listing.get("data")).get("children")):
            if isinstance(child, dict) and child.get("kind") == "t3" and post is None:
                post = _submission(mapping(child.get("data")))
            else:
                things.append(child)
    return post, things


@dataclass
class _Merged:
    """What the 'load more' companions brought: the ids they asked for, the roots of the
    'continue this thread' listings, how many comments, and which ones."""

    requested: set[str] = field(default_factory=set)
    continued: set[str] = field(default_factory=set)
    loaded: int = 0
    ids: set[str] = field(default_factory=set)


def _merge_companions(
    ctx: Context, comments: list[Comment], stubs: list[_Stub], seen: set[str], links: list[str]
) -> _Merged:
    """Walk every companion's comments into ``comments`` (new stubs into ``stubs``)."""
    merged = _Merged()
    page_count = len(comments)
    for companion in ctx.companions:
        req, more_things, roots = _morechildren(companion)
        merged.requested |= req
        merged.continued |= roots
        before = len(comments)
        _walk(more_things, comments, stubs, seen, links, page=False)
        merged.loaded += len(comments) - before
    merged.ids = {c.id for c in comments[page_count:]}
    return merged


def _settle_stubs(
    stubs: list[_Stub], by_id: dict[str, Comment], post: Comment | None, more: _Merged
) -> tuple[int, int, int]:
    """(comments not loaded, stubs unresolved, 'continue this thread' links): stubs the
    companions expanded are done; the others are counted on the comment (or post) they
    hang from."""
    not_loaded = unresolved = continues = 0
    for stub in stubs:
        if stub.children and all(ch in more.requested or ch in by_id for ch in stub.children):
            continue  # expanded by the recorded 'load more' responses
        if stub.count == 0 and not stub.children and stub.parent in more.continued:
            continue  # its 'continue this thread' listing was given
        unresolved += 1
        target = by_id.get(stub.parent) if stub.parent else None
        holder = target if target is not None else post
        if stub.count == 0 and not stub.children:
            continues += 1
            if holder is not None:
                holder.extra["more_continue_thread"] = True
            continue
        missing = stub.count
        if any(ch in more.ids for ch in stub.children):
            # expanded by raw bodies, which do not say what was asked for: what is still
            # missing is what did not come back (comments deleted since count too)
            missing = sum(1 for ch in stub.children if ch not in more.requested and ch not in by_id)
        not_loaded += missing
        if holder is not None and missing:
            holder.extra["more_not_loaded"] = holder.extra.get("more_not_loaded", 0) + missing
    return not_loaded, unresolved, continues


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
            # ('continue this thread' listings start from such a comment: its replies are new)
            stack.extend((r, comment.id) for r in reversed(sequence(replies)))
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


def _morechildren(src: Source) -> tuple[set[str], list[Any], set[str]]:
    """From one companion file: the ids asked for (recordings only), the things returned,
    and the comments that 'continue this thread' listings start from."""
    doc = src.json
    requested: set[str] = set()
    things: list[Any] = []
    roots: set[str] = set()
    if looks_like(doc) or (isinstance(doc, list) and doc and all(looks_like(x) for x in doc)):
        pages = [doc] if looks_like(doc) else doc  # one listing pair, or a list of them
        for page in pages:
            for listing in page if isinstance(page, list) else [page]:
                for child in sequence(mapping(listing.get("data")).get("children")):
                    if isinstance(child, dict) and child.get("kind") == "t1":
                        things.append(child)
                        cid = as_str(mapping(child.get("data")).get("id"))
                        if cid:
                            roots.add(cid)
        return requested, things, roots
    if not is_morechildren(doc):
        raise src.fail(
            "not Reddit 'load more' data: expected /api/morechildren responses "
            '({"json": {"data": {"things": [...]}}}, or a list of them) or "continue this thread" listings'
        )
    for i, call in enumerate(doc if isinstance(doc, list) else [doc]):
        response = call
        if _is_recorded_call(call):
            body = call.get("request_body")
            if isinstance(body, str):
                for value in parse_qs(body).get("children", []):
                    requested.update(x for x in value.split(",") if x)
            response = mapping(call.get("response"))
        payload = mapping(response.get("json"))
        errors = [e for e in sequence(payload.get("errors")) if e]
        if errors:
            raise src.fail(
                f"Reddit answered with an error: {errors[0]}", where=f"[{i}]" if isinstance(doc, list) else None
            )
        things.extend(sequence(mapping(payload.get("data")).get("things")))
    return requested, things, roots
