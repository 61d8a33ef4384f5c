"""YouTube Data API v3 comment responses: ``commentThreadListResponse`` (top-level comments
with some of their replies), ``commentListResponse`` (e.g. replies by ``parentId``), and the
single resources (``youtube#commentThread``, ``youtube#comment``, their bare snippets, and a
thread's ``replies`` object). One thread per video (or channel, when there is no video)."""

from __future__ import annotations

from typing import Any

from analyzer.parsers.base import Context, Source, TimeParser, as_int, as_str, html_to_text, mapping, sequence
from analyzer.thread import Comment, Thread


def looks_like(doc: Any) -> bool:
    """Any of the response or resource shapes above."""
    if not isinstance(doc, dict):
        return False
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.startswith("youtube#"):
        return True
    if "topLevelComment" in doc or "textOriginal" in doc or "textDisplay" in doc:
        return True
    comments = doc.get("comments")
    return (
        isinstance(comments, list)
        and bool(comments)
        and all(isinstance(c, dict) and str(c.get("kind", "")).startswith("youtube#") for c in comments)
    )


class _Builder:
    """Collects comments by video, in file order."""

    def __init__(self, src: Source, ctx: Context) -> None:
        self.src = src
        self.times = TimeParser(ctx.now)
        self.groups: dict[str, list[Comment]] = {}
        self.not_loaded: dict[str, int] = {}
        self.unnamed = 0

    def comment(self, resource: dict[str, Any], parent: str | None = None, group_hint: str | None = None) -> Comment:
        """A ``youtube#comment`` (or its bare snippet) added to its video's group."""
        snippet = mapping(resource.get("snippet")) if "snippet" in resource else resource
        cid = as_str(resource.get("id"))
        if cid is None:
            self.unnamed += 1
            cid = f"{self.src.stem}-{self.unnamed}"
        text = snippet.get("textOriginal")
        if not isinstance(text, str):
            display = snippet.get("textDisplay")
            text = html_to_text(display) if isinstance(display, str) else ""
        created, _ = self.times(snippet.get("publishedAt"))
        extra: dict[str, Any] = {}
        for key, out in (
            ("likeCount", "likes"),
            ("viewerRating", "viewer_rating"),
            ("moderationStatus", "moderation_status"),
        ):
            if snippet.get(key) is not None and not isinstance(snippet.get(key), (dict, list)):
                extra[out] = snippet[key]
        updated, _ = self.times(snippet.get("updatedAt"))
        if updated is not None and created is not None and updated != created:
            extra["updated_at"] = updated.isoformat()
        channel = as_str(mapping(snippet.get("authorChannelId")).get("value"))
        if channel:
            extra["author_channel_id"] = channel
        comment = Comment(
            id=cid,
            text=text,
            parent_id=as_str(snippet.get("parentId")) or parent,
            author=as_str(snippet.get("authorDisplayName")),
            created_at=created,
            extra=extra,
        )
        self.groups.setdefault(self.group_of(snippet, group_hint), []).append(comment)
        return comment

    def group_of(self, snippet: dict[str, Any], hint: str | None) -> str:
        video = as_str(snippet.get("videoId"))
        if video:
            return f"youtube:{video}"
        if hint:
            return hint
        channel = as_str(snippet.get("channelId"))
        return f"youtube:channel:{channel}" if channel else f"youtube:{self.src.stem}"

    def comment_thread(self, resource: dict[str, Any]) -> None:
        """A ``youtube#commentThread`` (or its snippet): the top comment and listed replies."""
        snippet = mapping(resource.get("snippet")) if "snippet" in resource else resource
        group = self.group_of(snippet, None)
        top_resource = mapping(snippet.get("topLevelComment"))
        top = self.comment(top_resource, group_hint=group) if top_resource else None
        replies = sequence(mapping(resource.get("replies")).get("comments"))
        for reply in replies:
            if isinstance(reply, dict):
                self.comment(reply, parent=top.id if top else None, group_hint=group)
        total = as_int(snippet.get("totalReplyCount"))
        if total is not None and total > len(replies):
            self.not_loaded[group] = self.not_loaded.get(group, 0) + total - len(replies)
            if top is not None:
                top.extra["replies_not_loaded"] = total - len(replies)

    def threads(self) -> list[Thread]:
        out = []
        for group, comments in self.groups.items():
            extra = {"not_loaded": self.not_loaded[group]} if group in self.not_loaded else {}
            out.append(Thread.build(group, comments, source=self.src.name, format="youtube", extra=extra))
        return out


def parse(src: Source, ctx: Context) -> list[Thread]:
    doc = src.json
    if not looks_like(doc):
        raise src.fail("not a YouTube Data API comment response (expected kind 'youtube#...')")
    b = _Builder(src, ctx)
    kind = doc.get("kind")
    if kind in ("youtube#commentThreadListResponse", "youtube#commentListResponse"):
        for i, item in enumerate(sequence(doc.get("items"))):
            if not isinstance(item, dict):
                raise src.fail("an item is not an object", where=f"items[{i}]")
            if item.get("kind") == "youtube#commentThread" or "topLevelComment" in mapping(item.get("snippet")):
                b.comment_thread(item)
            else:
                b.comment(item)
    elif kind == "youtube#commentThread" or "topLevelComment" in doc:
        b.comment_thread(doc)
    elif kind == "youtube#comment" or "textOriginal" in doc or "textDisplay" in doc:
        b.comment(doc)
    elif isinstance(doc.get("comments"), list):
        for reply in doc["comments"]:
            if isinstance(reply, dict):
                b.comment(reply)
    else:
        raise src.fail(f"unsupported YouTube resource kind {kind!r}")
    return b.threads()
