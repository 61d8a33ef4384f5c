"""Hypothesis strategies that generate parser inputs, per format.

Three kinds, mixed: random bytes; documents shaped like the format (its keys, tags or line
types, with hostile values); and the seed documents (``fuzz.seeds``) with byte-level
mutations — flips, tokens spliced in, cuts, repeats — so the fuzzing gets past the first
syntax check into each parser's tree-building code.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hypothesis import strategies as st

from fuzz.contract import AUTO, TARGETS
from fuzz.seeds import seeds

TOKENS: tuple[bytes, ...] = (
    b'"',
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"true",
    b"\x00",
    b"\xff",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"\n",
    b"\r\n",
    b"\r",
    b"\t",
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#x110000;",
    b"<![CDATA[",
    b"]]>",
    b"<!DOCTYPE x>",
    b"1e999",
    b"-0",
    b"99999999999999999999999",
    b"NaN",
    b"-Infinity",
    b'"\\ud800"',
    b'"\\u0000"',
    b"4 months ago",
    b"Reply to  ",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xe2\x80\xae",
    b"\xe2\x80\x8b",
    b"[" * 64,
    b'{"a":' * 64,
    b"<p>" * 64,
)

_KEYS: dict[str, tuple[str, ...]] = {
    "reddit": (
        "kind",
        "data",
        "children",
        "replies",
        "id",
        "name",
        "parent_id",
        "link_id",
        "body",
        "author",
        "created_utc",
        "count",
        "score",
        "title",
        "selftext",
        "request_body",
        "response",
        "json",
        "things",
    ),
    "hackernews": (
        "id",
        "title",
        "points",
        "user",
        "time",
        "content",
        "comments",
        "level",
        "comments_count",
        "by",
        "kids",
        "parent",
        "text",
        "type",
        "deleted",
        "dead",
        "score",
        "descendants",
    ),
    "youtube": (
        "kind",
        "items",
        "id",
        "snippet",
        "topLevelComment",
        "replies",
        "comments",
        "textOriginal",
        "textDisplay",
        "parentId",
        "videoId",
        "channelId",
        "authorDisplayName",
        "publishedAt",
        "updatedAt",
        "totalReplyCount",
        "likeCount",
        "authorChannelId",
        "value",
    ),
    "jsonl": (
        "id",
        "reply_to",
        "parent_id",
        "conversation_id",
        "thread_id",
        "speaker",
        "author",
        "user",
        "screen_name",
        "timestamp",
        "created_at",
        "text",
        "body",
        "comment",
    ),
    "pheme": ("conversation_id", "structure", "text", "id"),
}
_VALUES: tuple[Any, ...] = (
    "Listing",
    "t1",
    "t3",
    "more",
    "t1_a",
    "t3_p",
    "a",
    "b",
    "1",
    "2",
    "story",
    "comment",
    "job",
    "youtube#comment",
    "youtube#commentThread",
    "youtube#commentThreadListResponse",
    "youtube#commentListResponse",
    "[deleted]",
    "[removed]",
    "<p>x<p>y &amp; <br>",
    "<script>alert(1)</script>",
    "4 months ago",
    "yesterday",
    "2019-06-23T02:49:00.000Z",
    "Mon Jan 05 12:00:00 +0000 2015",
    "children=a,b",
    "\u202e\u200b",
    "\x00",
    "\ud800",
    1600000000,
    1e300,
    -1,
    0,
    2**63,
    True,
    False,
    None,
    float("nan"),
    float("inf"),
)


def _json_doc(keys: tuple[str, ...]) -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.sampled_from(_VALUES), st.text(max_size=10), st.integers(), st.floats())
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=5),
            st.dictionaries(st.one_of(st.sampled_from(keys), st.text(max_size=4)), inner, max_size=7),
        ),
        max_leaves=50,
    )


def _json_bytes(keys: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    return st.tuples(_json_doc(keys), st.booleans()).map(
        lambda d: json.dumps(d[0], ensure_ascii=d[1]).encode("utf-8", "surrogatepass")
    )


def _json_lines(keys: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    row = st.dictionaries(st.sampled_from(keys), _json_doc(keys), min_size=1, max_size=6)
    return st.lists(row, min_size=1, max_size=8).map(
        lambda rows: "\n".join(json.dumps(r) for r in rows).encode("utf-8", "surrogatepass")
    )


_XML_BITS = (
    '<?xml version="1.0"?>',
    '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">',
    "</disqus>",
    '<thread dsq:id="1">',
    "</thread>",
    '<post dsq:id="2">',
    '<post dsq:id="3">',
    "<post>",
    "</post>",
    '<thread dsq:id="1" />',
    '<parent dsq:id="2" />',
    '<parent dsq:id="3" />',
    '<parent dsq:id="" />',
    "<message><![CDATA[<p>hi</p><script>x</script>]]></message>",
    "<message>&lt;b&gt;</message>",
    "<message>",
    "</message>",
    "<isDeleted>true</isDeleted>",
    "<isSpam>true</isSpam>",
    "<author><name>N</name></author>",
    "<author><isAnonymous>true</isAnonymous></author>",
    "<title>T</title>",
    "<createdAt>2014-06-21T00:51:15Z</createdAt>",
    "<createdAt>junk</createdAt>",
    "&amp;",
    "&bogus;",
    "&#0;",
    "<!DOCTYPE x>",
    "text",
    "<a><b><c><d><e>deep</e></d></c></b></a>",
)
_PAGE_LINES = (
    "",
    "",
    "4 months ago",
    "an hour ago",
    "just now",
    "yesterday",
    "9999 years ago",
    "Reply to  Bob",
    "Reply to Alice",
    "Reply to",
    "Alice",
    "Bob",
    "Dan W.",
    "Some comment text.",
    "<script>alert(1)</script>",
    "Notify of",
    "Oldest Most Voted",
    "Inline Feedbacks",
    "View all comments",
    "Would love your thoughts, please comment.x",
    "Load More Comments",
    "News / Politics",
    "A title",
    "By Someone",
    "Donate Now",
    "12 Comments",
    "Log in to Reply",
)
_CSV_HEADERS = (
    "id",
    "text",
    "body",
    "parent_id",
    "reply_to",
    "thread_id",
    "conversation_id",
    "author",
    "time",
    "created_at",
    "x",
    "",
)


def _csv_bytes() -> st.SearchStrategy[bytes]:
    cell = st.one_of(
        st.sampled_from(["", "1", "2", "a", "4 months ago", "1e999", "\u202e", "a,b", '"q"', "x\ny"]),
        st.text(max_size=8),
    )

    def build(parts: tuple[list[str], list[list[str]], str]) -> bytes:
        header, rows, delimiter = parts
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
        return buf.getvalue().encode("utf-8", "surrogatepass")

    return st.tuples(
        st.lists(st.sampled_from(_CSV_HEADERS), min_size=1, max_size=6),
        st.lists(st.lists(cell, max_size=7), max_size=10),
        st.sampled_from([",", ";", "\t", "|"]),
    ).map(build)


# Keys of the platforms added in round 2 (issue 14), so generated documents look like theirs.
_KEYS_ROUND2: dict[str, tuple[str, ...]] = {
    "discourse": ("post_stream", "posts", "stream", "post_number", "reply_to_post_number", "cooked", "username", "created_at", "id", "topic_id", "title"),
    "bluesky": ("thread", "post", "replies", "parent", "record", "text", "uri", "author", "handle", "createdAt", "$type", "notFound", "blocked"),
    "mastodon": ("ancestors", "descendants", "id", "in_reply_to_id", "content", "account", "acct", "created_at"),
    "x": ("data", "includes", "users", "id", "text", "conversation_id", "referenced_tweets", "type", "author_id", "created_at", "threaded_conversation_with_injections_v2", "instructions", "entries", "content", "legacy", "full_text", "in_reply_to_status_id_str"),
    "reddit-dump": ("id", "parent_id", "link_id", "body", "author", "created_utc", "title", "selftext", "name"),
}  # fmt: skip


def _shaped(target: str) -> st.SearchStrategy[bytes]:
    if target in ("reddit", "hackernews", "youtube"):
        return _json_bytes(_KEYS[target])
    if target == "reddit-dump":
        return _json_lines(_KEYS_ROUND2[target])
    if target in _KEYS_ROUND2:
        return _json_bytes(_KEYS_ROUND2[target])
    if target in ("jsonl", "pheme"):
        return st.one_of(_json_lines(_KEYS[target]), _json_bytes(_KEYS[target]))
    if target == "disqus":
        return st.lists(st.sampled_from(_XML_BITS), max_size=40).map(lambda b: "\n".join(b).encode())
    if target == "pasted":
        return st.lists(st.one_of(st.sampled_from(_PAGE_LINES), st.text(max_size=30)), max_size=60).map(
            lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")
        )
    if target == "csv":
        return _csv_bytes()
    if target != AUTO:  # a format without a shape of its own: generic JSON
        return _json_bytes(_KEYS["jsonl"])
    return st.one_of([_shaped(t) for t in TARGETS if t != AUTO])


@st.composite
def _mutated(draw: st.DrawFn, pool: tuple[bytes, ...]) -> bytes:
    data = bytearray(draw(st.sampled_from(pool)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(("set", "insert", "delete", "truncate", "repeat")))
        pos = draw(st.integers(0, len(data)))
        if op == "set" and pos < len(data):
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=8)))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[pos:]
        elif op == "repeat":
            chunk = data[pos : pos + draw(st.integers(1, 200))]
            data[pos:pos] = chunk * draw(st.integers(1, 4))
    return bytes(data)


def inputs(target: str) -> st.SearchStrategy[bytes]:
    """Inputs for fuzzing ``target`` (a format, or ``auto``)."""
    pool = tuple(seeds(target))
    parts = [st.binary(max_size=2000), _shaped(target)]
    if pool:  # samples too large to seed with leave a format without mutated seeds
        parts.append(_mutated(pool))
    return st.one_of(parts)
