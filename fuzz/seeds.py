"""Seed inputs for the fuzzers: a small valid document of every format (so mutations start
from inputs that reach deep into each parser), plus the small real samples in
``../shared/data/threads`` when that folder is there."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fuzz.contract import AUTO, TARGETS

SHARED_THREADS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "threads"
MAX_SEED_BYTES = 20_000

_REDDIT = [
    {
        "kind": "Listing",
        "data": {
            "children": [
                {
                    "kind": "t3",
                    "data": {"id": "p1", "title": "T", "selftext": "body", "author": "op", "created_utc": 1600000000},
                }
            ]
        },
    },
    {
        "kind": "Listing",
        "data": {
            "children": [
                {
                    "kind": "t1",
                    "data": {
                        "id": "a",
                        "parent_id": "t3_p1",
                        "link_id": "t3_p1",
                        "body": "top",
                        "author": "x",
                        "created_utc": 1600000001,
                        "score": 3,
                        "replies": {
                            "kind": "Listing",
                            "data": {
                                "children": [
                                    {
                                        "kind": "t1",
                                        "data": {
                                            "id": "b",
                                            "parent_id": "t1_a",
                                            "body": "[deleted]",
                                            "author": "[deleted]",
                                            "replies": "",
                                        },
                                    },
                                    {"kind": "more", "data": {"count": 2, "children": ["c", "d"], "parent_id": "t1_a"}},
                                ]
                            },
                        },
                    },
                }
            ]
        },
    },
]
_HN_NESTED = {
    "id": 1,
    "title": "Story",
    "points": 5,
    "user": "pg",
    "time": 1600000000,
    "comments_count": 3,
    "comments": [
        {
            "id": 2,
            "level": 0,
            "user": "a",
            "time": 1600000001,
            "content": "<p>hi &amp; <i>you</i><p>second",
            "comments": [
                {
                    "id": 3,
                    "level": 1,
                    "user": "b",
                    "time": 1600000002,
                    "content": "[deleted]",
                    "deleted": True,
                    "comments": [],
                }
            ],
        }
    ],
}
_HN_ITEMS = [
    {"id": 1, "type": "story", "by": "pg", "title": "S", "kids": [2], "time": 1600000000},
    {"id": 2, "type": "comment", "by": "a", "parent": 1, "text": "x<p>y", "kids": [3], "time": 1600000001},
    {"id": 3, "type": "comment", "by": "b", "parent": 2, "text": "z", "dead": True},
]
_YOUTUBE = {
    "kind": "youtube#commentThreadListResponse",
    "items": [
        {
            "kind": "youtube#commentThread",
            "id": "t1",
            "snippet": {
                "videoId": "v",
                "totalReplyCount": 3,
                "topLevelComment": {
                    "kind": "youtube#comment",
                    "id": "c1",
                    "snippet": {
                        "textOriginal": "top",
                        "authorDisplayName": "A",
                        "publishedAt": "2020-01-01T00:00:00Z",
                        "likeCount": 1,
                    },
                },
            },
            "replies": {
                "comments": [
                    {
                        "kind": "youtube#comment",
                        "id": "c2",
                        "snippet": {
                            "textDisplay": "re<b>ply</b>",
                            "parentId": "c1",
                            "authorDisplayName": "B",
                            "authorChannelId": {"value": "ch"},
                        },
                    }
                ]
            },
        }
    ],
}
_DISQUS = (
    '<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
    'xmlns:dsq="http://disqus.com/disqus-internals">\n<thread dsq:id="1"><title>T</title><link>http://x</link>'
    '<createdAt>2014-06-21T00:51:15Z</createdAt></thread>\n<post dsq:id="2"><message><![CDATA[<p>hi</p>]]></message>'
    '<author><name>N</name><username>n</username></author><thread dsq:id="1" /></post>\n<post dsq:id="3">'
    '<message>re</message><parent dsq:id="2" /><isDeleted>true</isDeleted><thread dsq:id="1" /></post>\n</disqus>\n'
)
_PASTED = (
    "News / Politics\n\nA Title\n\nBy Some One\n\nThe article.\n\nNotify of\nOldest Most Voted\nInline Feedbacks\n"
    "View all comments\n4 months ago\n\nFirst comment.\n\nDan W.\n4 months ago\nReply to  Alice\n\nA reply.\n\n"
    "Alice\n2 days ago\nReply to  Dan W.\n\nBack at you.\n\nWould love your thoughts, please comment.x\n"
)
_CSV = (
    'id,parent_id,thread_id,author,created_at,text\n1,,t,ann,2024-01-01T00:00:00Z,"hello, ""world"""\n'
    '2,1,t,bob,1700000000,reply\n3,9,t,,4 months ago,"multi\nline"\n'
)
_JSONL = (
    "\n".join(
        json.dumps(r)
        for r in [
            {"id": "1", "conversation_id": "t", "text": "post", "speaker": "a", "timestamp": 1600000000},
            {"id": "2", "reply_to": "1", "conversation_id": "t", "text": "reply", "speaker": {"screen_name": "b"}},
            {"id": "3", "reply_to": "2", "conversation_id": "t", "body": "other key", "meta": {"x": [1, 2]}},
        ]
    )
    + "\n"
)
_PHEME = json.dumps({"conversation_id": "1", "structure": {"1": {"2": {"3": []}, "4": []}}}) + "\n"

BUILT_IN: dict[str, list[bytes]] = {
    "reddit": [json.dumps(_REDDIT).encode()],
    "hackernews": [json.dumps(_HN_NESTED).encode(), json.dumps(_HN_ITEMS).encode()],
    "youtube": [json.dumps(_YOUTUBE).encode()],
    "disqus": [_DISQUS.encode()],
    "pasted": [_PASTED.encode()],
    "csv": [_CSV.encode(), _CSV.replace(",", "\t").encode(), b"text\nonly a text column\n"],
    "jsonl": [_JSONL.encode(), json.dumps([{"text": "a"}, {"text": "b", "parent": 0}]).encode()],
    "pheme": [_PHEME.encode()],
    "mastodon": [
        json.dumps(
            {
                "ancestors": [],
                "descendants": [
                    {"id": "2", "in_reply_to_id": "1", "content": "<p>hi</p>", "account": {"acct": "a"},
                     "created_at": "2024-01-01T00:00:00Z"}
                ],
            }
        ).encode()
    ],
    "reddit-dump": [
        b'{"id": "c1", "parent_id": "t3_x", "link_id": "t3_x", "body": "hi", "author": "a", "created_utc": 1700000000}\n'
        b'{"id": "c2", "parent_id": "t1_c1", "link_id": "t3_x", "body": "yo", "author": "b", "created_utc": 1700000060}\n'
    ],
}  # fmt: skip

_SHARED: dict[str, tuple[str, ...]] = {
    "reddit": ("reddit/*.json",),
    "hackernews": ("hackernews/*.json",),
    "youtube": ("youtube/*.json",),
    "disqus": ("disqus/*.xml",),
    "pasted": ("pasted/*.txt",),
    "jsonl": ("twitter-rumoureval/utterances.jsonl",),
    "pheme": ("twitter-rumoureval/threads.jsonl",),
    "csv": (),
    "discourse": ("discourse/*.json",),
    "bluesky": ("bluesky/*.json",),
    "mastodon": ("mastodon/*.json",),
    "x": ("twitter/*.json",),
    "reddit-dump": ("reddit-pushshift/*.ndjson",),
}


def seeds(target: str, *, shared: Path | None = SHARED_THREADS) -> list[bytes]:
    """Seed inputs for ``target`` (``auto``: those of every format). Real samples larger
    than ``MAX_SEED_BYTES`` are cut at a line boundary (JSON Lines) or left out."""
    formats = [t for t in TARGETS if t != AUTO] if target == AUTO else [target]
    out: list[bytes] = []
    for fmt in formats:
        out.extend(BUILT_IN.get(fmt, []))  # the round-2 platforms seed from the shared samples
        if shared is None or not shared.is_dir():
            continue
        for pattern in _SHARED[fmt]:
            for path in sorted(shared.glob(pattern)):
                data = path.read_bytes()
                if path.suffix == ".jsonl":
                    data = data[:MAX_SEED_BYTES].rsplit(b"\n", 1)[0] + b"\n"
                if len(data) <= MAX_SEED_BYTES and "morechildren" not in path.name:
                    out.append(data)
    return out


def write_seeds(target: str, folder: Path) -> Path:
    """The seeds as files named by their hash (a libFuzzer corpus folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    for data in seeds(target):
        (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
    return folder
