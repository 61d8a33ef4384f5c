"""Bluesky threads as ``app.bsky.feed.getPostThread`` returns them: ``{"thread": node}``, each
node a ``threadViewPost`` (``post``, ``replies[]`` below it, ``parent`` above it), or a
``blockedPost`` / ``notFoundPost`` that stands for a post the viewer may not see.

Posts are identified by their ``at://`` URI. Blocked and missing posts are not comments: they
are counted on the post they answer (``replies_blocked``, ``replies_not_found``) and on the
thread. A JSON list of responses is read too; responses about one conversation merge.
"""

from __future__ import annotations

from typing import Any

from analyzer.parsers.base import Context, Source, TimeParser, as_int, as_str, mapping, sequence
from analyzer.thread import Comment, Thread

_VIEW = "app.bsky.feed.defs#threadViewPost"
_BLOCKED = "app.bsky.feed.defs#blockedPost"
_NOT_FOUND = "app.bsky.feed.defs#notFoundPost"


def looks_like(doc: Any) -> bool:
    """A getPostThread response (or a JSON list of them)."""
    items = doc if isinstance(doc, list) else [doc]
    return bool(items) and all(_is_response(x) for x in items[:20])


def _is_response(x: Any) -> bool:
    if not isinstance(x, dict) or not isinstance(x.get("thread"), dict):
        return False
    node = x["thread"]
    kind = node.get("$type")
    return (isinstance(kind, str) and kind.startswith("app.bsky.feed.defs#")) or (
        isinstance(node.get("post"), dict) and "uri" in node["post"]
    )


def _kind(node: dict[str, Any]) -> str:
    kind = node.get("$type")
    if kind == _BLOCKED or node.get("blocked") is True:
        return "blocked"
    if kind == _NOT_FOUND or node.get("notFound") is True:
        return "not_found"
    return "post" if isinstance(node.get("post"), dict) else "other"


class _Conversation:
    """The posts of one conversation, gathered over one or more responses."""

    def __init__(self) -> None:
        self.posts: dict[str, Comment] = {}
        self.order: list[str] = []
        self.listed_replies: dict[str, set[str]] = {}
        self.reply_counts: dict[str, int] = {}
        self.blocked = 0
        self.not_found = 0

    def add(self, comment: Comment, reply_count: int | None) -> None:
        if comment.id in self.posts:
            return
        self.posts[comment.id] = comment
        self.order.append(comment.id)
        if reply_count is not None:
            self.reply_counts[comment.id] = reply_count


def parse(src: Source, ctx: Context) -> list[Thread]:
    doc = src.json
    if not looks_like(doc):
        raise src.fail('not a Bluesky getPostThread response: expected {"thread": {"post": ...}}')
    times = TimeParser(ctx.now)
    conversations: dict[str, _Conversation] = {}
    for i, response in enumerate(doc if isinstance(doc, list) else [doc]):
        where = f"[{i}].thread" if isinstance(doc, list) else "thread"
        _read_response(response["thread"], src, where, times, conversations)
    return [_thread(key, conv, src) for key, conv in conversations.items()]


def _read_response(
    focal: dict[str, Any], src: Source, where: str, times: TimeParser, conversations: dict[str, _Conversation]
) -> None:
    kind = _kind(focal)
    if kind != "post":
        what = {"blocked": "is blocked", "not_found": "was not found"}.get(kind, "holds no post")
        raise src.fail(f"the thread's post {what}", where=where)

    # Up the parent chain (iteratively) to the topmost post the response holds.
    chain: list[dict[str, Any]] = [focal]
    node = mapping(focal.get("parent"))
    while node and _kind(node) == "post":
        chain.append(node)
        node = mapping(node.get("parent"))
    top = chain[-1]
    top_post = mapping(top.get("post"))
    top_reply = mapping(mapping(top_post.get("record")).get("reply"))
    root_uri = as_str(mapping(top_reply.get("root")).get("uri")) or as_str(top_post.get("uri")) or src.stem
    conv = conversations.setdefault(root_uri, _Conversation())
    if node and _kind(node) in ("blocked", "not_found"):
        _count_hidden(conv, node, None)

    # Ancestors first (top down), each the parent of the next; then the replies below the focal post.
    parent: str | None = None
    for view in reversed(chain[1:]):
        parent = _add(view, parent, conv, times, view is top and not top_reply)
    stack: list[tuple[dict[str, Any], str | None]] = [(focal, parent)]
    first = True
    while stack:
        view, above = stack.pop()
        cid = _add(view, above, conv, times, first and top is focal and not top_reply)
        first = False
        replies = sequence(view.get("replies"))
        listed = conv.listed_replies.setdefault(cid, set())
        for reply in reversed(replies):
            if not isinstance(reply, dict):
                continue
            kind = _kind(reply)
            if kind == "post":
                uri = as_str(mapping(reply.get("post")).get("uri"))
                if uri:
                    listed.add(uri)
                stack.append((reply, cid))
            elif kind in ("blocked", "not_found"):
                listed.add(as_str(reply.get("uri")) or f"hidden-{len(listed)}")
                _count_hidden(conv, reply, cid)


def _count_hidden(conv: _Conversation, node: dict[str, Any], holder: str | None) -> None:
    key = "replies_blocked" if _kind(node) == "blocked" else "replies_not_found"
    if key == "replies_blocked":
        conv.blocked += 1
    else:
        conv.not_found += 1
    target = conv.posts.get(holder) if holder else None
    if target is not None:
        target.extra[key] = target.extra.get(key, 0) + 1


def _add(view: dict[str, Any], parent: str | None, conv: _Conversation, times: TimeParser, is_root: bool) -> str:
    """The post of a threadViewPost as a comment (the conversation's post when ``is_root``)."""
    post = mapping(view.get("post"))
    record = mapping(post.get("record"))
    author = mapping(post.get("author"))
    uri = as_str(post.get("uri")) or f"post-{len(conv.order) + 1}"
    if parent is None and not is_root:
        parent = as_str(mapping(mapping(record.get("reply")).get("parent")).get("uri"))
    created, _ = times(record.get("createdAt"))
    if created is None:
        created, _ = times(post.get("indexedAt"))
    extra: dict[str, Any] = {}
    for key, out in (("likeCount", "likes"), ("repostCount", "reposts"), ("quoteCount", "quotes")):
        if as_int(post.get(key)) is not None:
            extra[out] = as_int(post.get(key))
    for key, out in (("displayName", "display_name"), ("did", "author_did")):
        if as_str(author.get(key)):
            extra[out] = as_str(author.get(key))
    labels = [as_str(mapping(x).get("val")) for x in sequence(post.get("labels"))]
    if any(labels):
        extra["labels"] = [x for x in labels if x]
    if isinstance(post.get("embed"), dict) or isinstance(record.get("embed"), dict):
        extra["has_embed"] = True
    text = record.get("text")
    comment = Comment(
        id=uri,
        text=text if isinstance(text, str) else "",
        parent_id=parent,
        author=as_str(author.get("handle")),
        created_at=created,
        kind="post" if is_root else "comment",
        extra=extra,
    )
    conv.add(comment, as_int(post.get("replyCount")))
    return uri


def _thread(root_uri: str, conv: _Conversation, src: Source) -> Thread:
    post = conv.posts.get(root_uri)
    if post is not None and post.kind != "post":
        post = None
    comments = [conv.posts[i] for i in conv.order if post is None or i != post.id]
    not_loaded = 0
    for cid, count in conv.reply_counts.items():
        not_loaded += max(count - len(conv.listed_replies.get(cid, ())), 0)
    extra: dict[str, Any] = {"not_loaded": not_loaded}
    if conv.blocked:
        extra["blocked_posts"] = conv.blocked
    if conv.not_found:
        extra["not_found_posts"] = conv.not_found
    tid = "bluesky:" + root_uri.removeprefix("at://")
    return Thread.build(tid, comments, post, source=src.name, format="bluesky", extra=extra)
