"""The platforms of issue 14 (Discourse, Bluesky, Mastodon, X, Reddit dumps, raw Reddit 'load
more' bodies) and the large YouTube sample: every tree checked against the sample's own ids,
parents, authors and times (worked out here from the JSON, independently of the parsers);
hostile variants refused with a one-line ``InputError`` or repaired and reported."""

from __future__ import annotations

import copy
import html
import json
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from analyzer.cli import cli
from analyzer.errors import InputError
from analyzer.parsers import detect_format, input_units, iter_threads, parse_bytes, parse_path
from analyzer.thread import Thread

NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def threads_dir(shared_data: Path) -> Path:
    return shared_data / "threads"


def one(threads: list[Thread]) -> Thread:
    assert len(threads) == 1
    return threads[0]


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def depths(parents: dict[str, str | None]) -> dict[str, int]:
    """Depth of each id from a parent map (top-level = 1), by walking up."""
    out: dict[str, int] = {}
    for cid in parents:
        chain, node = [], cid
        while node is not None and node in parents and node not in out:
            chain.append(node)
            node = parents[node]
        base = out.get(node, 0) if node is not None else 0
        for k in reversed(chain):
            base += 1
            out[k] = base
    return out


def tree(t: Thread) -> dict[str, tuple[str | None, int]]:
    return {c.id: (c.parent_id, c.depth) for c in t.comments}


# ---------------------------------------------------------------------- detection
@pytest.mark.parametrize(
    "rel,fmt",
    [
        ("discourse/discourse_t2144_posts_page1.json", "discourse"),
        ("bluesky/bsky_getPostThread_flat_170.json", "bluesky"),
        ("bluesky/bsky_getPostThread_nested_small.json", "bluesky"),
        ("mastodon/mastodon_status_context.json", "mastodon"),
        ("twitter/x_graphql_tweet_detail_conversation.json", "x"),
        ("reddit-pushshift/RC_t3_21259.ndjson", "reddit-dump"),
        ("youtube/commentThreads_video_XYAe15w39LQ.json", "youtube"),
    ],
)
def test_detected(threads_dir: Path, rel: str, fmt: str) -> None:
    path = threads_dir / rel
    assert detect_format(path.read_bytes(), name=path.name) == fmt
    assert all(t.format == fmt for t in parse_bytes(path.read_bytes(), name=path.name, format=fmt, now=NOW))


# ---------------------------------------------------------------------- Discourse
def discourse_source(folder: Path) -> dict[int, dict[str, Any]]:
    posts: dict[int, dict[str, Any]] = {}
    for page in sorted(folder.glob("*.json")):
        for p in json.loads(page.read_text())["post_stream"]["posts"]:
            posts.setdefault(p["post_number"], p)
    return posts


def test_discourse_pages_merge_into_one_topic(threads_dir: Path) -> None:
    folder = threads_dir / "discourse"
    src = discourse_source(folder)
    assert len(src) == 29  # the README's count: posts 1-30 without #7
    units = input_units([folder])
    assert [u.name for u in units] == ["discourse_t2144_posts_page1.json"]  # the other pages merge into it
    t = one(parse_path(folder, now=NOW))
    assert t.id == "discourse:2144" and t.format == "discourse" and t.extra["pages"] == 3
    assert t.post is not None and t.post.id == "1" and t.post.author == src[1]["username"] == "Elliot"
    parents = {str(n): (str(p["reply_to_post_number"]) if p["reply_to_post_number"] else None) for n, p in src.items()}
    del parents["1"]
    want = depths({k: (None if v == "1" else v) for k, v in parents.items()})
    assert tree(t) == {k: ("1" if v is None else v, want[k]) for k, v in parents.items()}
    # The README's depth 9 counts reply_to links; the chain 30 -> ... -> 4 has nine, and 4
    # answers the topic (depth 1 here, as for every platform), so post 30 is at depth 10.
    assert t.max_depth == 10 and t.get("30").depth == 10 and t.get("4").depth == 1
    assert sum(1 for p in src.values() if p["reply_to_post_number"]) == 20
    for n, p in src.items():
        c = t.get(str(n))
        assert (c.author, c.created_at, c.extra["post_id"]) == (p["username"], iso(p["created_at"]), str(p["id"]))
    assert t.repairs == []
    # every page alone, named as a file, brings its siblings in; as bytes it stands alone
    for page in sorted(folder.glob("*.json")):
        assert tree(one(parse_path(page, now=NOW))) == tree(t)
    alone = one(parse_bytes((folder / "discourse_t2144_posts_page3.json").read_bytes(), name="p3.json"))
    assert alone.post is None and len(alone.comments) == 20


def test_discourse_text_is_the_posts_own_words(threads_dir: Path) -> None:
    t = one(parse_path(threads_dir / "discourse", now=NOW))
    quoting = [c for c in t.comments if c.extra.get("quotes")]
    assert quoting  # replies quoting others: the quote is left out, the rest kept
    for c in quoting:
        assert not c.text.startswith(("Elliot:", "Apricus:"))
    assert not any(re.search(r"<(p|a|aside|div|img|br)\b", c.text) for c in [t.post, *t.comments])
    assert t.get("3").text.startswith("I watched the film last night.")


def test_discourse_topic_json_and_cycle(tmp_path: Path, threads_dir: Path) -> None:
    page = json.loads((threads_dir / "discourse" / "discourse_t2144_posts_page1.json").read_text())
    topic = {"id": 2144, "title": "KPop Demon Hunters", "slug": "kpop-demon-hunters", **page}
    topic["post_stream"] = {**page["post_stream"], "stream": [p["id"] for p in page["post_stream"]["posts"]] + [1, 2]}
    t = one(parse_bytes(json.dumps(topic).encode(), name="2144.json"))
    assert t.post is not None and t.post.extra["title"] == "KPop Demon Hunters" and t.extra["not_loaded"] == 2
    # an edited parent making a loop (4 -> 9 -> 8 -> 4) is broken and reported, not a crash
    for p in topic["post_stream"]["posts"]:
        if p["post_number"] == 4:
            p["reply_to_post_number"] = 9
    (tmp_path / "t.json").write_text(json.dumps(topic))
    result = CliRunner().invoke(cli, ["parse", str(tmp_path / "t.json")])
    assert result.exit_code == 0, result.output
    assert "reply cycle among 4, 9, 8" in result.stderr and "repairs: 3 cycle broken" in result.stderr
    assert len(result.stdout.splitlines()) == 20


# ---------------------------------------------------------------------- Bluesky
def bluesky_source(doc: dict[str, Any]) -> tuple[dict[str, tuple[str | None, str, str]], int, int]:
    """uri -> (parent uri, handle, createdAt) below the root; blocked and not-found counts."""
    out: dict[str, tuple[str | None, str, str]] = {}
    blocked = missing = 0
    stack = [(r, doc["thread"]["post"]["uri"]) for r in doc["thread"].get("replies", [])]
    while stack:
        node, parent = stack.pop()
        if node["$type"].endswith("blockedPost"):
            blocked += 1
            continue
        if node["$type"].endswith("notFoundPost"):
            missing += 1
            continue
        post = node["post"]
        out[post["uri"]] = (parent, post["author"]["handle"], post["record"]["createdAt"])
        stack.extend((r, post["uri"]) for r in node.get("replies", []))
    return out, blocked, missing


@pytest.mark.parametrize(
    "name,count,depth,blocked",
    [("flat_170", 170, 1, 0), ("nested_small", 3, 2, 2), ("nested_depth3", 3, 3, 0)],
)
def test_bluesky_matches_source(threads_dir: Path, name: str, count: int, depth: int, blocked: int) -> None:
    path = threads_dir / "bluesky" / f"bsky_getPostThread_{name}.json"
    doc = json.loads(path.read_text())
    src, n_blocked, n_missing = bluesky_source(doc)
    t = one(parse_path(path, now=NOW))
    root = doc["thread"]["post"]
    assert t.post is not None and t.post.id == root["uri"] and t.post.author == root["author"]["handle"]
    assert t.id == "bluesky:" + root["uri"][len("at://") :]
    want = depths({k: (None if v[0] == root["uri"] else v[0]) for k, v in src.items()})
    assert tree(t) == {k: (v[0], want[k]) for k, v in src.items()}
    assert len(t.comments) == count and t.max_depth == depth
    for uri, (_, handle, created) in src.items():
        assert (t.get(uri).author, t.get(uri).created_at) == (handle, iso(created))
    assert n_blocked == blocked and t.extra.get("blocked_posts", 0) == blocked
    assert t.extra.get("not_found_posts", 0) == n_missing
    assert t.repairs == []


def test_bluesky_focal_reply_with_parents(threads_dir: Path) -> None:
    """Asked about the deepest post, getPostThread nests its ancestors under ``parent``."""
    doc = json.loads((threads_dir / "bluesky" / "bsky_getPostThread_nested_depth3.json").read_text())
    chain = [doc["thread"]]
    while chain[-1].get("replies"):
        chain.append(chain[-1]["replies"][0])
    focal = copy.deepcopy(chain[-1])
    node = focal
    for above in reversed(chain[:-1]):
        node["parent"] = {k: v for k, v in above.items() if k != "replies"}
        node = node["parent"]
    t = one(parse_bytes(json.dumps({"thread": focal}).encode(), name="focal.json"))
    want = one(parse_bytes(json.dumps(doc).encode(), name="root.json"))
    assert t.id == want.id and t.post is not None and t.post.id == want.post.id
    assert tree(t) == tree(want)


def test_bluesky_missing_root_is_refused() -> None:
    doc = {"thread": {"$type": "app.bsky.feed.defs#notFoundPost", "uri": "at://x/y/z", "notFound": True}}
    with pytest.raises(InputError, match=r"gone.json:thread: the thread's post was not found"):
        parse_bytes(json.dumps(doc).encode(), name="gone.json")


# ---------------------------------------------------------------------- Mastodon
def test_mastodon_context_alone_keeps_the_asked_status_as_a_placeholder(threads_dir: Path) -> None:
    doc = json.loads((threads_dir / "mastodon" / "mastodon_status_context.json").read_text())
    (anc,), (desc,) = doc["ancestors"], doc["descendants"]
    t = one(parse_path(threads_dir / "mastodon", now=NOW))
    assert t.id == f"mastodon:mastodon.social:{anc['id']}"
    assert t.post is not None and t.post.id == anc["id"] and t.post.text == "first status"
    assert t.post.author == anc["account"]["acct"] and t.post.created_at == iso(anc["created_at"])
    focal = desc["in_reply_to_id"]
    assert tree(t) == {focal: (anc["id"], 1), desc["id"]: (focal, 2)}
    assert t.get(focal).flags == ["text_missing"] and t.get(desc["id"]).text == "final status"
    assert t.repairs == []


@pytest.mark.parametrize("shape", ["list", "object", "status-with-context"])
def test_mastodon_with_the_status(threads_dir: Path, shape: str) -> None:
    ctx = json.loads((threads_dir / "mastodon" / "mastodon_status_context.json").read_text())
    status = copy.deepcopy(ctx["descendants"][0])
    status.update(
        id=ctx["descendants"][0]["in_reply_to_id"],
        in_reply_to_id=ctx["ancestors"][0]["id"],
        content="<p>middle &amp; <b>bold</b></p>",
    )
    doc: Any = {
        "list": [status, ctx],
        "object": {"status": status, "context": ctx},
        "status-with-context": {**status, **ctx},
    }[shape]
    t = one(parse_bytes(json.dumps(doc).encode(), name="m.json"))
    mid = t.get(status["id"])
    assert (mid.text, mid.flags, mid.depth) == ("middle & bold", [], 1)
    assert len(t.comments) == 2 and t.max_depth == 2


def test_mastodon_cycle_is_broken(threads_dir: Path) -> None:
    ctx = json.loads((threads_dir / "mastodon" / "mastodon_status_context.json").read_text())
    a, d = ctx["ancestors"][0], ctx["descendants"][0]
    a["in_reply_to_id"] = d["id"]  # the root now answers its own descendant
    d["in_reply_to_id"] = a["id"]
    t = one(parse_bytes(json.dumps(ctx).encode(), name="loop.json"))
    assert [r.kind for r in t.repairs] == ["cycle_broken"] and len(t.comments) == 2


# ---------------------------------------------------------------------- X
def x_source(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text())
    out = []
    for ins in doc["data"]["threaded_conversation_with_injections_v2"]["instructions"]:
        for e in ins.get("entries", []):
            c = e["content"]
            items = [c["itemContent"]] if "itemContent" in c else [i["item"]["itemContent"] for i in c.get("items", [])]
            for ic in items:
                r = ic["tweet_results"]["result"]
                out.append(
                    {
                        "id": r["rest_id"],
                        "parent": r["legacy"].get("in_reply_to_status_id_str"),
                        "conv": r["legacy"]["conversation_id_str"],
                        "user": r["core"]["user_results"]["result"]["core"]["screen_name"],
                        "user_id": r["legacy"]["user_id_str"],
                        "time": r["legacy"]["created_at"],
                        "text": r["legacy"]["full_text"],
                    }
                )
    return out


def test_x_graphql_matches_source(threads_dir: Path) -> None:
    path = threads_dir / "twitter" / "x_graphql_tweet_detail_conversation.json"
    src = x_source(path)
    assert len(src) == 37
    t = one(parse_path(path, now=NOW))
    conv = src[0]["conv"]
    assert t.id == f"x:{conv}" and t.post is not None and t.post.id == conv
    rest = {s["id"]: s for s in src if s["id"] != conv}
    want = depths({k: (None if s["parent"] == conv else s["parent"]) for k, s in rest.items()})
    assert tree(t) == {k: (s["parent"], want[k]) for k, s in rest.items()}
    assert t.max_depth == 3 and t.repairs == []
    for s in src:
        c = t.get(s["id"])
        created = datetime.strptime(s["time"], "%a %b %d %H:%M:%S %z %Y")
        assert (c.author, c.created_at) == (s["user"], created)
        assert c.text == html.unescape(s["text"])
    assert t.post.text.startswith("Today, we are deprecating our Premium v1.1 API")


def v2_from_graphql(src: list[dict[str, Any]]) -> dict[str, Any]:
    """The same conversation in the v2 API's shape (no v2 recording exists in the samples)."""
    conv = src[0]["conv"]
    tweets = [
        {
            "id": s["id"],
            "text": s["text"],
            "author_id": s["user_id"],
            "conversation_id": s["conv"],
            "created_at": datetime.strptime(s["time"], "%a %b %d %H:%M:%S %z %Y").isoformat().replace("+00:00", "Z"),
            **({"referenced_tweets": [{"type": "replied_to", "id": s["parent"]}]} if s["parent"] else {}),
        }
        for s in src
    ]
    users = list({s["user_id"]: {"id": s["user_id"], "username": s["user"], "name": s["user"]} for s in src}.values())
    quoted = {"id": "999", "text": "another conversation", "conversation_id": "998", "author_id": src[0]["user_id"]}
    return {
        "data": [tw for tw in tweets if tw["id"] != conv],
        "includes": {"users": users, "tweets": [tweets[0], quoted]},
        "meta": {"result_count": len(tweets) - 1},
    }


def test_x_v2_matches_graphql(threads_dir: Path) -> None:
    path = threads_dir / "twitter" / "x_graphql_tweet_detail_conversation.json"
    src = x_source(path)
    doc = v2_from_graphql(src)
    data = json.dumps(doc).encode()
    assert detect_format(data, name="v2.json") == "x"
    t = one(parse_bytes(data, name="v2.json"))
    want = one(parse_path(path, now=NOW))
    assert t.id == want.id and t.post is not None and t.post.id == want.post.id
    assert tree(t) == tree(want)
    assert "999" not in t  # a quoted tweet of another conversation stays out
    for c in want.comments:
        assert (t.get(c.id).author, t.get(c.id).created_at, t.get(c.id).text) == (c.author, c.created_at, c.text)
    # paged search results saved as a list of pages
    half = len(doc["data"]) // 2
    pages = [{**doc, "data": doc["data"][:half]}, {**doc, "data": doc["data"][half:]}]
    assert tree(one(parse_bytes(json.dumps(pages).encode(), name="pages.json"))) == tree(want)


def test_x_cycle_is_broken(threads_dir: Path) -> None:
    src = x_source(threads_dir / "twitter" / "x_graphql_tweet_detail_conversation.json")
    doc = v2_from_graphql(src)
    a, b = doc["data"][0], doc["data"][1]  # b answers a; make a answer b
    assert b["referenced_tweets"][0]["id"] == a["id"]
    a["referenced_tweets"] = [{"type": "replied_to", "id": b["id"]}]
    t = one(parse_bytes(json.dumps(doc).encode(), name="loop.json"))
    assert [r.kind for r in t.repairs] == ["cycle_broken"] and len(t.comments) == 36


# ---------------------------------------------------------------------- Reddit dumps
def dump_lines(threads_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (threads_dir / "reddit-pushshift" / "RC_t3_21259.ndjson").read_text().splitlines()]


def zstd(data: bytes, *, frames: int = 1) -> bytes:
    import zstandard

    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=27, enable_ldm=True)
    cut = len(data) // frames
    parts = [data[i * cut : (i + 1) * cut if i < frames - 1 else len(data)] for i in range(frames)]
    return b"".join(zstandard.ZstdCompressor(compression_params=params).compress(p) for p in parts)


def test_reddit_dump_matches_source(threads_dir: Path) -> None:
    rows = dump_lines(threads_dir)
    t = one(parse_path(threads_dir / "reddit-pushshift", now=NOW))
    assert t.id == "reddit:21259" and t.format == "reddit-dump" and t.post is None
    parents = {r["id"]: (None if r["parent_id"] == "t3_21259" else r["parent_id"][3:]) for r in rows}
    want = depths(parents)
    assert tree(t) == {k: (v, want[k]) for k, v in parents.items()}
    assert len(t.comments) == 95 and t.max_depth == 6 and t.repairs == []
    for r in rows:
        c = t.get(r["id"])
        assert c.created_at == datetime.fromtimestamp(r["created_utc"], timezone.utc)
        if r["author"] == "[deleted]":
            assert c.author is None and ("author_deleted" in c.flags or "deleted" in c.flags)
        else:
            assert c.author == r["author"]
        assert c.text == ("" if r["body"] in ("[deleted]", "[removed]") else r["body"])
        assert c.extra["score"] == r["score"] and c.extra["subreddit"] == "reddit.com"


def test_reddit_dump_zst_with_submissions_and_many_threads(tmp_path: Path, threads_dir: Path) -> None:
    rows = dump_lines(threads_dir)
    other = [
        {**r, "id": "x" + r["id"], "link_id": "t3_other", "parent_id": r["parent_id"].replace("t1_", "t1_x")}
        for r in rows
    ]
    for r in other:
        if r["parent_id"] == "t3_21259":
            r["parent_id"] = "t3_other"
    mixed = [x for pair in zip(rows, other) for x in pair]  # time-sorted dumps interleave threads
    data = "".join(json.dumps(r) + "\n" for r in mixed).encode()
    (tmp_path / "RC_2005-12.zst").write_bytes(zstd(data, frames=3))
    post = {"id": "21259", "title": "How to do what you love", "selftext": "", "author": "pg"}
    post.update(subreddit="reddit.com", created_utc="1135400000", num_comments=100)
    (tmp_path / "RS_2005-12.zst").write_bytes(zstd((json.dumps(post) + "\n").encode()))
    assert [u.name for u in input_units([tmp_path])] == ["RC_2005-12.zst"]  # the submissions merge in
    stream = iter_threads([tmp_path], now=NOW)
    first = next(stream)
    assert first.id == "reddit:21259" and first.post is not None and first.post.author == "pg"
    assert first.post.extra["title"] == "How to do what you love" and first.extra["not_loaded"] == 5
    assert first.post.created_at == datetime.fromtimestamp(1135400000, timezone.utc)
    assert len(first.comments) == 95 and first.max_depth == 6 and first.repairs == []
    second = next(stream)
    assert second.id == "reddit:other" and second.post is None and len(second.comments) == 95
    assert {c.id: c.depth for c in second.comments} == {"x" + c.id: c.depth for c in first.comments}
    assert next(stream, None) is None
    assert detect_format(zstd(data), name="upload") == "reddit-dump"
    assert len(parse_bytes(zstd(data), name="upload.zst")) == 2


def test_reddit_dump_cycle_is_broken(threads_dir: Path) -> None:
    rows = dump_lines(threads_dir)
    child = next(r for r in rows if r["parent_id"].startswith("t1_"))
    parent = next(r for r in rows if r["id"] == child["parent_id"][3:])
    parent["parent_id"] = "t1_" + child["id"]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    t = one(parse_bytes(data, name="loop.ndjson"))
    assert [r.kind for r in t.repairs] == ["cycle_broken"] and len(t.comments) == 95


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: d[: len(d) // 2], r"line \d+: invalid JSON"),  # cut off mid-line
        (lambda d: d + b"[1, 2]\n", r"line 96: expected a JSON object"),
        (lambda d: d + b'{"id": "z", "text": "hi"}\n', r"line 96: not a Reddit dump line"),
        (lambda d: d + b'{"id": "z", "link_id": 7, "parent_id": "t3_x", "body": "b"}\n', r"line 96: not a Reddit"),
        (lambda d: d.replace(b"\n", b" ", 3) + b"{" * 3000 + b"\n", r"invalid JSON|nested too deeply"),
    ],
)
def test_reddit_dump_bad_lines(tmp_path: Path, threads_dir: Path, mutate: Any, message: str) -> None:
    data = mutate((threads_dir / "reddit-pushshift" / "RC_t3_21259.ndjson").read_bytes())
    for name, payload in (("bad.ndjson", data), ("bad.zst", zstd(data))):
        (tmp_path / name).write_bytes(payload)
        with pytest.raises(InputError, match=message) as info:
            parse_path(tmp_path / name, format="reddit-dump" if name.endswith("ndjson") else None)
        assert "\n" not in str(info.value) and name in str(info.value)


def test_reddit_dump_cut_off_zst_is_refused(tmp_path: Path, threads_dir: Path) -> None:
    data = zstd((threads_dir / "reddit-pushshift" / "RC_t3_21259.ndjson").read_bytes())
    (tmp_path / "RC_cut.zst").write_bytes(data[:-5])
    with pytest.raises(InputError, match=r"RC_cut.zst:after line \d+: the compressed data is damaged or cut off"):
        parse_path(tmp_path / "RC_cut.zst")
    (tmp_path / "junk.zst").write_bytes(b"\x28\xb5\x2f\xfd" + b"junk" * 10)
    with pytest.raises(InputError, match="damaged or cut off"):
        parse_path(tmp_path / "junk.zst")
    result = CliRunner().invoke(cli, ["parse", str(tmp_path / "RC_cut.zst")])
    assert result.exit_code == 2 and result.stdout == "" and result.stderr.count("error:") == 1


def test_reddit_dump_thread_limit_is_checked_before_any_thread(tmp_path: Path, threads_dir: Path) -> None:
    from analyzer.limits import Limits

    with pytest.raises(InputError, match="thread reddit:21259 has 95 comments, over the limit of 50"):
        parse_path(threads_dir / "reddit-pushshift", limits=Limits(max_comments_per_thread=50))


# ---------------------------------------------------------------------- Reddit 'load more'
def _reddit_variant(tmp_path: Path, threads_dir: Path, variant: str) -> Path:
    folder = threads_dir / "reddit"
    recorded = json.loads((folder / "reddit_3hahrw_morechildren.json").read_text())
    bodies = [call["response"] for call in recorded]
    out = tmp_path / variant
    out.mkdir()
    shutil.copy(folder / "reddit_3hahrw.json", out / "reddit_3hahrw.json")
    if variant == "list":
        (out / "reddit_3hahrw_morechildren.json").write_text(json.dumps(bodies))
    elif variant == "folder":
        (out / "reddit_3hahrw_morechildren").mkdir()
        for i, body in enumerate(bodies):
            (out / "reddit_3hahrw_morechildren" / f"body_{i:03d}.json").write_text(json.dumps(body))
    return out


@pytest.mark.parametrize("variant", ["list", "folder"])
def test_reddit_raw_morechildren_bodies(tmp_path: Path, threads_dir: Path, variant: str) -> None:
    folder = _reddit_variant(tmp_path, threads_dir, variant)
    assert [u.name for u in input_units([folder])] == ["reddit_3hahrw.json"]
    t = one(parse_path(folder, now=NOW))
    want = one(parse_path(threads_dir / "reddit" / "reddit_3hahrw.json", now=NOW))  # our recording
    assert tree(t) == tree(want) and len(t.comments) == 476 + 57
    assert t.extra["more"]["loaded_from_morechildren"] == 57 and t.repairs == []
    # without the requests, the two children asked for but not sent back (cu5tkk4, cu5tpek:
    # deleted since) count as not loaded; the recording, which names them, counts none
    assert t.extra["not_loaded"] == 2 and want.extra["not_loaded"] == 0


def test_reddit_raw_body_alone_is_explained(threads_dir: Path) -> None:
    recorded = json.loads((threads_dir / "reddit" / "reddit_3hahrw_morechildren.json").read_text())
    with pytest.raises(InputError, match="load more"):
        parse_bytes(json.dumps(recorded[0]["response"]).encode(), name="body.json")


def test_reddit_continue_this_thread_listing(tmp_path: Path, threads_dir: Path) -> None:
    page = json.loads((threads_dir / "reddit" / "reddit_3hahrw.json").read_text())
    base = one(parse_bytes(json.dumps(page).encode(), name="reddit_3hahrw.json"))
    holder = next(c for c in base.comments if c.extra.get("more_continue_thread"))
    # what /comments/3hahrw/_/<holder> returns: the holder again, with the replies not shown
    reply = {"kind": "t1", "data": {"id": "newreply", "parent_id": f"t1_{holder.id}", "body": "deeper", "author": "z"}}
    again = {"id": holder.id, "parent_id": "t1_x", "body": holder.text, "author": holder.author}
    again["replies"] = {"kind": "Listing", "data": {"children": [reply]}}
    listing = [page[0], {"kind": "Listing", "data": {"children": [{"kind": "t1", "data": again}]}}]
    (tmp_path / "reddit_3hahrw.json").write_text(json.dumps(page))
    (tmp_path / "reddit_3hahrw_morechildren.json").write_text(json.dumps(listing))
    t = one(parse_path(tmp_path / "reddit_3hahrw.json"))
    assert len(t.comments) == len(base.comments) + 1 and t.repairs == []
    assert t.get("newreply").parent_id == holder.id and t.get("newreply").depth == holder.depth + 1
    assert t.get(holder.id).parent_id == holder.parent_id  # the repeat did not move it
    assert t.extra["more"]["continue_thread_links"] == base.extra["more"]["continue_thread_links"] - 1


# ---------------------------------------------------------------------- YouTube (the large sample)
def test_youtube_large_sample_every_reply_under_its_thread(threads_dir: Path) -> None:
    path = threads_dir / "youtube" / "commentThreads_video_XYAe15w39LQ.json"
    doc = json.loads(path.read_text())
    t = one(parse_path(path, now=NOW))
    assert t.id == "youtube:XYAe15w39LQ" and len(doc["items"]) == 99
    want: dict[str, tuple[str | None, int]] = {}
    for item in doc["items"]:
        top = item["snippet"]["topLevelComment"]
        want[top["id"]] = (None, 1)
        for reply in item.get("replies", {}).get("comments", []):
            assert reply["snippet"]["parentId"] == top["id"]
            want[reply["id"]] = (top["id"], 2)
    assert tree(t) == want and len(want) == 99 + 88 and t.max_depth == 2 and t.repairs == []
    total = sum(i["snippet"]["totalReplyCount"] for i in doc["items"])
    assert t.extra["not_loaded"] == total - 88


# ---------------------------------------------------------------------- hostile variants
SAMPLES = {
    "discourse": "discourse/discourse_t2144_posts_page1.json",
    "bluesky": "bluesky/bsky_getPostThread_nested_small.json",
    "mastodon": "mastodon/mastodon_status_context.json",
    "x": "twitter/x_graphql_tweet_detail_conversation.json",
}


@pytest.mark.parametrize("fmt", list(SAMPLES))
def test_truncated_json_is_one_line_error(threads_dir: Path, fmt: str) -> None:
    data = (threads_dir / SAMPLES[fmt]).read_bytes()
    for forced in (None, fmt):
        with pytest.raises(InputError, match=r"cut.json:line \d+ column \d+: invalid JSON") as info:
            parse_bytes(data[: len(data) * 2 // 3], name="cut.json", format=forced)
        assert "\n" not in str(info.value)


WRONG_TYPES = [
    ("discourse", lambda d: d["post_stream"].__setitem__("posts", "nope"), r"not a Discourse topic"),
    ("discourse", lambda d: d["post_stream"]["posts"].__setitem__(3, 42), r"post_stream.posts\[3\]: a post is not"),
    ("discourse", lambda d: d["post_stream"]["posts"][2].__setitem__("post_number", [1]), r"posts\[2\]: a post has no"),
    ("bluesky", lambda d: d.__setitem__("thread", []), r"not a Bluesky getPostThread"),
    ("mastodon", lambda d: d["descendants"].__setitem__(0, "x"), r"descendants\[0\]: a status is not an object"),
    ("mastodon", lambda d: d["ancestors"][0].__setitem__("id", {"a": 1}), r"ancestors\[0\]: a status has no id"),
    ("x", lambda d: d.__setitem__("data", {"threaded_conversation_with_injections_v2": {}}), r"no tweets"),
]


@pytest.mark.parametrize("fmt,mutate,message", WRONG_TYPES)
def test_wrong_types_are_one_line_errors(threads_dir: Path, fmt: str, mutate: Any, message: str) -> None:
    doc = json.loads((threads_dir / SAMPLES[fmt]).read_text())
    mutate(doc)
    with pytest.raises(InputError, match=message) as info:
        parse_bytes(json.dumps(doc).encode(), name="odd.json", format=fmt)
    assert str(info.value).startswith("odd.json") and "\n" not in str(info.value)


def _scramble(doc: Any, kind: int) -> Any:
    """Every scalar of a document replaced by another type (kind 0: lists, 1: numbers,
    2: strings, 3: null), keeping the shape of its containers."""
    replacement = [[1], 7, "s", None][kind]
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in list(items):
            if isinstance(v, (dict, list)) and v:
                stack.append(v)
            elif k not in ("$type", "__typename"):
                node[k] = replacement
    return doc


@pytest.mark.parametrize("fmt", list(SAMPLES))
@pytest.mark.parametrize("kind", range(4))
def test_scrambled_values_never_crash(threads_dir: Path, fmt: str, kind: int) -> None:
    doc = _scramble(json.loads((threads_dir / SAMPLES[fmt]).read_text()), kind)
    try:
        threads = parse_bytes(json.dumps(doc).encode(), name="scrambled.json", format=fmt)
    except InputError as exc:
        assert "could not be read" not in str(exc)  # a parser bug caught by the guard, not a refusal
        assert "\n" not in str(exc)
    else:
        for t in threads:
            json.dumps(list(t.records()), default=str)
