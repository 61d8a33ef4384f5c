"""Mastodon (and other ActivityPub servers with Mastodon's API) conversations:
``/api/v1/statuses/ID/context`` (``ancestors``, ``descendants``, each status with ``id``,
``in_reply_to_id``, ``content`` HTML, ``account.acct``, ``created_at``), with or without the
status ``ID`` itself. Accepted as the context alone, as ``{"status": ..., "context": ...}``,
as a status object carrying ``ancestors``/``descendants``, or as a JSON list ``[status, context]``.

The context alone lacks the status it was asked about; since its replies name it, it is
kept as an empty placeholder (flagged ``text_missing``) so that the tree keeps its shape.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from analyzer.parsers.base import (
    FLAG_TEXT_MISSING,
    Context,
    Source,
    TimeParser,
    as_int,
    as_str,
    html_to_text,
    mapping,
)
from analyzer.thread import Comment, Thread


def _is_context(x: Any) -> bool:
    return isinstance(x, dict) and isinstance(x.get("ancestors"), list) and isinstance(x.get("descendants"), list)


def _is_status(x: Any) -> bool:
    return isinstance(x, dict) and "id" in x and "content" in x and isinstance(x.get("account"), dict)


def looks_like(doc: Any) -> bool:
    """Any of the shapes above."""
    if _is_context(doc):
        return True
    if isinstance(doc, dict) and _is_context(doc.get("context")):
        return True
    return (
        isinstance(doc, list)
        and 1 <= len(doc) <= 2
        and any(_is_context(x) for x in doc)
        and all(_is_context(x) or _is_status(x) for x in doc)
    )


def _split(doc: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the status, or None; the context)."""
    if isinstance(doc, list):
        context = next(x for x in doc if _is_context(x))
        status = next((x for x in doc if x is not context and _is_status(x)), None)
        return status, context
    if _is_context(doc.get("context")):
        status = doc.get("status")
        return (status if _is_status(status) else None), doc["context"]
    return (doc if _is_status(doc) else None), doc


def parse(src: Source, ctx: Context) -> list[Thread]:
    doc = src.json
    if not looks_like(doc):
        raise src.fail('not a Mastodon status context: expected {"ancestors": [...], "descendants": [...]}')
    status, context = _split(doc)
    times = TimeParser(ctx.now)
    ancestors = _statuses(context, "ancestors", src)
    descendants = _statuses(context, "descendants", src)

    by_id: dict[str, Comment] = {}
    order: list[Comment] = []
    host = None
    for raw in [*ancestors, *([status] if status else []), *descendants]:
        comment = _status(raw, times)
        host = host or _host(raw)
        if comment.id in by_id:
            continue
        by_id[comment.id] = comment
        order.append(comment)

    if status is None:
        named = [c.parent_id for c in order if c.parent_id and c.parent_id not in by_id]
        missing = list(dict.fromkeys(named))
        if len(missing) == 1:  # the status the context was asked about
            last = as_str(ancestors[-1].get("id")) if ancestors else None
            placeholder = Comment(
                id=missing[0], text="", parent_id=last, flags=[FLAG_TEXT_MISSING], extra={"placeholder": True}
            )
            by_id[placeholder.id] = placeholder
            order.insert(len(ancestors), placeholder)

    post = order[0] if order and order[0].parent_id is None else None
    if post is not None:
        post.kind = "post"
    comments = order[1:] if post is not None else order
    root = post.id if post is not None else (order[0].id if order else src.stem)
    tid = f"mastodon:{host}:{root}" if host else f"mastodon:{root}"
    return [Thread.build(tid, comments, post, source=src.name, format="mastodon")]


def _statuses(context: dict[str, Any], key: str, src: Source) -> list[dict[str, Any]]:
    out = []
    for i, raw in enumerate(context[key]):
        if not isinstance(raw, dict):
            raise src.fail("a status is not an object", where=f"{key}[{i}]")
        if as_str(raw.get("id")) is None:
            raise src.fail("a status has no id", where=f"{key}[{i}]")
        out.append(raw)
    return out


def _host(raw: dict[str, Any]) -> str | None:
    for key in ("url", "uri"):
        value = raw.get(key)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            try:
                return urlsplit(value).hostname
            except ValueError:
                continue
    return None


def _status(raw: dict[str, Any], times: TimeParser) -> Comment:
    account = mapping(raw.get("account"))
    created, _ = times(raw.get("created_at"))
    extra: dict[str, Any] = {}
    for key, out in (("favourites_count", "likes"), ("reblogs_count", "reposts"), ("replies_count", "replies")):
        if as_int(raw.get(key)) is not None:
            extra[out] = as_int(raw.get(key))
    for key, out in (("spoiler_text", "content_warning"), ("visibility", "visibility"), ("language", "language")):
        if as_str(raw.get(key)):
            extra[out] = as_str(raw.get(key))
    if as_str(account.get("display_name")):
        extra["display_name"] = as_str(account.get("display_name"))
    if isinstance(raw.get("url"), str):
        extra["url"] = raw["url"]
    if raw.get("edited_at"):
        extra["edited"] = True
    if raw.get("sensitive") is True:
        extra["sensitive"] = True
    content = raw.get("content")
    return Comment(
        id=as_str(raw.get("id")) or "",
        text=html_to_text(content) if isinstance(content, str) else "",
        parent_id=as_str(raw.get("in_reply_to_id")),
        author=as_str(account.get("acct")) or as_str(account.get("username")),
        created_at=created,
        extra=extra,
    )
