"""X (Twitter) conversations, in the two shapes people save them (``--format x``):

- the v2 API (search ``conversation_id:ID`` or tweet lookup): ``{"data": [tweet, ...],
  "includes": {"users": [...], "tweets": [...]}}``, each tweet with ``id``, ``text``,
  ``author_id``, ``created_at``, ``conversation_id`` and ``referenced_tweets`` (the
  ``replied_to`` one is the parent); a JSON list of such pages is read as one;
- the web client's GraphQL ``TweetDetail`` response: tweets under
  ``data.threaded_conversation_with_injections_v2.instructions[].entries[]`` (and their
  modules' ``items[]``), each ``tweet_results.result`` with ``rest_id`` and ``legacy``
  (``full_text``, ``in_reply_to_status_id_str``, ``conversation_id_str``, ``created_at``).

One thread per conversation; the tweet whose id is the conversation id is its post. Texts
come HTML-escaped (``&amp;``) and are unescaped. Withheld and deleted tweets (tombstones) are
counted, not read. Quoted tweets of other conversations in ``includes`` are left out.
"""

from __future__ import annotations

import html
from typing import Any

from analyzer.parsers.base import Context, Source, TimeParser, as_int, as_str, mapping, sequence
from analyzer.thread import Comment, Thread

_GRAPHQL_KEYS = ("threaded_conversation_with_injections_v2", "threaded_conversation_with_injections")
_V2_HINTS = ("conversation_id", "referenced_tweets", "author_id", "edit_history_tweet_ids", "in_reply_to_user_id")
# (the shape's key, ours) for a tweet's engagement counts
_V2_COUNTS = (
    ("like_count", "likes"),
    ("retweet_count", "reposts"),
    ("reply_count", "replies"),
    ("quote_count", "quotes"),
)
_GRAPHQL_COUNTS = (("favorite_count", "likes"), *_V2_COUNTS[1:])


def _graphql_root(doc: Any) -> Any:
    data = mapping(mapping(doc).get("data"))
    return next((data[k] for k in _GRAPHQL_KEYS if isinstance(data.get(k), dict)), None)


def _is_v2_page(doc: Any) -> bool:
    if not isinstance(doc, dict) or "data" not in doc:
        return False
    data = doc["data"]
    tweets = data if isinstance(data, list) else [data]
    first = tweets[0] if tweets else None
    return (
        isinstance(first, dict)
        and "id" in first
        and "text" in first
        and ("includes" in doc or any(k in first for k in _V2_HINTS))
    )


def looks_like(doc: Any) -> bool:
    """A GraphQL TweetDetail response, a v2 API page, or a JSON list of v2 pages."""
    if _graphql_root(doc) is not None:
        return True
    pages = doc if isinstance(doc, list) else [doc]
    return bool(pages) and all(_is_v2_page(p) for p in pages[:20])


class _Tweets:
    """Tweets by conversation, first seen first, each once."""

    def __init__(self, src: Source, ctx: Context) -> None:
        self.src = src
        self.times = TimeParser(ctx.now)
        self.groups: dict[str, list[Comment]] = {}
        self.seen: set[str] = set()
        self.unavailable = 0

    def add(self, tid: str, conversation: str | None, comment: Comment) -> None:
        if tid in self.seen:
            return
        self.seen.add(tid)
        self.groups.setdefault(conversation or self.src.stem, []).append(comment)

    def threads(self) -> list[Thread]:
        out = []
        for conversation, comments in self.groups.items():
            post = next((c for c in comments if c.id == conversation), None)
            rest = [c for c in comments if c is not post]
            extra: dict[str, Any] = {}
            if self.unavailable:
                extra["unavailable_tweets"] = self.unavailable
            out.append(Thread.build(f"x:{conversation}", rest, post, source=self.src.name, format="x", extra=extra))
        return out


def parse(src: Source, ctx: Context) -> list[Thread]:
    doc = src.json
    tweets = _Tweets(src, ctx)
    root = _graphql_root(doc)
    if root is not None:
        _graphql(root, tweets)
    elif looks_like(doc):
        for i, page in enumerate(doc if isinstance(doc, list) else [doc]):
            _v2_page(page, tweets, f"[{i}]" if isinstance(doc, list) else "")
    else:
        raise src.fail(
            'not an X conversation: expected a v2 API response ({"data": [...], "includes": ...}) '
            "or a GraphQL TweetDetail response"
        )
    if not tweets.groups:
        raise src.fail("no tweets in this X response")
    return tweets.threads()


def _counts(source: dict[str, Any], keys: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The integer counts of ``source`` under our names (both shapes share the names)."""
    return {out: as_int(source.get(key)) for key, out in keys if as_int(source.get(key)) is not None}


def _names(display_name: Any, author_id: Any, lang: Any) -> dict[str, Any]:
    """The non-empty strings among a tweet's display name, author id and language."""
    named = {"display_name": as_str(display_name), "author_id": as_str(author_id), "lang": as_str(lang)}
    return {k: v for k, v in named.items() if v}


# ---------------------------------------------------------------------- v2 API
def _v2_page(page: dict[str, Any], tweets: _Tweets, where: str) -> None:
    includes = mapping(page.get("includes"))
    users = {as_str(mapping(u).get("id")): mapping(u) for u in sequence(includes.get("users"))}
    data = page["data"]
    listed = data if isinstance(data, list) else [data]
    conversations: set[str] = set()
    for i, raw in enumerate(listed):
        if not isinstance(raw, dict) or as_str(raw.get("id")) is None:
            raise tweets.src.fail("a tweet is not an object with an id", where=f"{where}data[{i}]".lstrip("."))
        conv = as_str(raw.get("conversation_id"))
        if conv:
            conversations.add(conv)
    included = [t for t in sequence(includes.get("tweets")) if isinstance(t, dict)]
    for raw in listed + [t for t in included if as_str(t.get("conversation_id")) in conversations]:
        if as_str(raw.get("id")) is None or _referenced(raw, "retweeted"):
            continue
        _v2_tweet(raw, users, tweets)
    tweets.unavailable += sum(1 for e in sequence(page.get("errors")) if mapping(e).get("resource_type") == "tweet")


def _referenced(raw: dict[str, Any], kind: str) -> str | None:
    for ref in sequence(raw.get("referenced_tweets")):
        if mapping(ref).get("type") == kind:
            return as_str(mapping(ref).get("id"))
    return None


def _v2_tweet(raw: dict[str, Any], users: dict[str | None, dict[str, Any]], tweets: _Tweets) -> None:
    tid = as_str(raw["id"]) or ""
    user = users.get(as_str(raw.get("author_id")), {})
    created, _ = tweets.times(raw.get("created_at"))
    note = mapping(raw.get("note_tweet")).get("text")
    text = note if isinstance(note, str) else raw.get("text")
    extra = _counts(mapping(raw.get("public_metrics")), _V2_COUNTS)
    extra.update(_names(user.get("name"), raw.get("author_id"), raw.get("lang")))
    comment = Comment(
        id=tid,
        text=html.unescape(text) if isinstance(text, str) else "",
        parent_id=_referenced(raw, "replied_to"),
        author=as_str(user.get("username")) or as_str(raw.get("author_id")),
        created_at=created,
        extra=extra,
    )
    tweets.add(tid, as_str(raw.get("conversation_id")), comment)


# ---------------------------------------------------------------------- GraphQL TweetDetail
def _graphql(root: dict[str, Any], tweets: _Tweets) -> None:
    """Every ``tweet_results.result`` under the instructions, in document order, iteratively
    (quoted tweets sit under ``quoted_status_result`` and are not collected)."""
    stack: list[Any] = [sequence(root.get("instructions"))]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            if "tweet_results" in node:
                _graphql_tweet(mapping(mapping(node["tweet_results"]).get("result")), tweets)
                continue
            stack.extend(reversed([v for v in node.values() if isinstance(v, (dict, list))]))


def _graphql_tweet(result: dict[str, Any], tweets: _Tweets) -> None:
    kind = result.get("__typename")
    if kind == "TweetWithVisibilityResults":
        result = mapping(result.get("tweet"))
        kind = "Tweet"
    legacy = mapping(result.get("legacy"))
    tid = as_str(result.get("rest_id")) or as_str(legacy.get("id_str"))
    if kind not in (None, "Tweet") or tid is None:
        tweets.unavailable += 1  # TweetTombstone, TweetUnavailable
        return
    user = mapping(mapping(mapping(result.get("core")).get("user_results")).get("result"))
    names = {**mapping(user.get("legacy")), **mapping(user.get("core"))}  # newer responses moved them to core
    created, _ = tweets.times(legacy.get("created_at"))
    note = mapping(mapping(mapping(result.get("note_tweet")).get("note_tweet_results")).get("result")).get("text")
    text = note if isinstance(note, str) else legacy.get("full_text")
    extra = _counts(legacy, _GRAPHQL_COUNTS)
    extra.update(_counts(mapping(result.get("views")), (("count", "views"),)))
    extra.update(_names(names.get("name"), legacy.get("user_id_str"), legacy.get("lang")))
    comment = Comment(
        id=tid,
        text=html.unescape(text) if isinstance(text, str) else "",
        parent_id=as_str(legacy.get("in_reply_to_status_id_str")),
        author=as_str(names.get("screen_name")) or as_str(legacy.get("user_id_str")),
        created_at=created,
        extra=extra,
    )
    tweets.add(tid, as_str(legacy.get("conversation_id_str")), comment)
