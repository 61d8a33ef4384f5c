"""``analyzer fetch`` against a local HTTP server on loopback that replays the shared samples
the way each platform's API hands them out: Reddit with 'more' stubs and "continue this
thread" links, Hacker News item by item, YouTube and Discourse page by page, Mastodon's
context, Bluesky cut at a depth. The saved files must parse to the sample's thread.
Nothing here reaches the internet (tests/netblock)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from analyzer.errors import AnalyzerError
from analyzer.fetching import Settings, fetch, resolve, write_atomic
from analyzer.fetching.common import FetchError
from analyzer.parsers import parse_path
from analyzer.thread import Thread

Route = Callable[[str, dict[str, list[str]]], "tuple[int, dict[str, str], Any]"]


# ---------------------------------------------------------------------- the local server
@dataclass
class Replay:
    """A loopback HTTP server answering with ``route(path, query)``; every request logged."""

    route: Route | None = None
    log: list[tuple[float, str, dict[str, list[str]]]] = field(default_factory=list)
    base: str = ""

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.log]


@pytest.fixture()
def server() -> Iterator[Replay]:
    replay = Replay()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query, keep_blank_values=True)
            replay.log.append((time.monotonic(), parts.path, query))
            assert replay.route is not None
            status, headers, body = replay.route(parts.path, query)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    replay.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield replay
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture()
def threads_dir(shared_data: Path) -> Path:
    return shared_data / "threads"


def settings_for(server: Replay, **kw: Any) -> Settings:
    bases = {p: server.base for p in ("reddit", "hackernews", "youtube", "bluesky")}
    return Settings(interval=0.0, bases=bases, **kw)


def not_found(_path: str = "", _q: Any = None) -> tuple[int, dict[str, str], Any]:
    return 404, {}, {"error": "not found"}


def tree(t: Thread) -> dict[str, str | None]:
    """Each comment's parent: what must survive the trip."""
    return {c.id: c.parent_id for c in t.comments}


def one(threads: list[Thread]) -> Thread:
    assert len(threads) == 1, [t.id for t in threads]
    return threads[0]


def saved(tmp_path: Path, result: Any, name: str = "thread.json") -> Thread:
    path = tmp_path / name
    write_atomic(result, path)
    return one(parse_path(path))


def load(path: Path) -> Any:
    return json.loads(path.read_text())


# ---------------------------------------------------------------------- Reddit
def _reddit_comments(threads_dir: Path) -> tuple[Any, list[dict[str, Any]]]:
    """The sample page's submission listing, and every comment of the sample (page and
    recorded 'load more' answers) as flat ``data`` objects, in page order."""
    page = load(threads_dir / "reddit" / "reddit_3hahrw.json")
    things = list(page[1]["data"]["children"])
    for call in load(threads_dir / "reddit" / "reddit_3hahrw_morechildren.json"):
        things.extend(call["response"]["json"]["data"]["things"])
    out: dict[str, dict[str, Any]] = {}
    stack = list(reversed(things))
    while stack:
        t = stack.pop()
        if t["kind"] != "t1":
            continue
        data = dict(t["data"])
        replies = data.get("replies")
        data["replies"] = ""
        out.setdefault(data["id"], data)
        if isinstance(replies, dict):
            stack.extend(reversed(replies["data"]["children"]))
    return page[0], list(out.values())


class RedditPager:
    """Reddit's paging, played over a complete tree: a page shows ``width`` replies per
    comment and ``depth`` levels; the rest hide behind 'more' stubs (ids listed) and, below
    the last level, "continue this thread" stubs (no ids)."""

    def __init__(self, post_listing: Any, comments: list[dict[str, Any]], *, width: int = 4, depth: int = 3) -> None:
        self.post_listing = post_listing
        self.by_id = {c["id"]: c for c in comments}
        self.kids: dict[str, list[str]] = {}
        link = comments[0]["link_id"]
        for c in comments:
            parent = c["parent_id"]
            self.kids.setdefault(parent[3:] if parent != link else "root", []).append(c["id"])
        self.link = link
        self.width, self.depth = width, depth

    def _size(self, cid: str) -> int:
        n, stack = 0, [cid]
        while stack:
            x = stack.pop()
            n += 1
            stack.extend(self.kids.get(x, []))
        return n

    def _level(self, parent_key: str, parent_full: str, levels: int) -> list[Any]:
        """Nested things under ``parent_key``, ``levels`` deep (built bottom-up with a stack)."""
        kids = self.kids.get(parent_key, [])
        shown, hidden = kids[: self.width], kids[self.width :]
        out: list[Any] = []
        for cid in shown:
            data = copy.deepcopy(self.by_id[cid])
            below = self.kids.get(cid, [])
            if below and levels > 1:
                data["replies"] = {"kind": "Listing", "data": {"children": self._level(cid, f"t1_{cid}", levels - 1)}}
            elif below:
                stub = {"count": 0, "name": "t1__", "id": "_", "parent_id": f"t1_{cid}", "children": []}
                data["replies"] = {"kind": "Listing", "data": {"children": [{"kind": "more", "data": stub}]}}
            out.append({"kind": "t1", "data": data})
        if hidden:
            count = sum(self._size(h) for h in hidden)
            stub = {"count": count, "name": f"t1_{hidden[0]}", "id": hidden[0], "parent_id": parent_full}
            out.append({"kind": "more", "data": {**stub, "children": hidden}})
        return out

    def page(self) -> Any:
        return [
            self.post_listing,
            {"kind": "Listing", "data": {"children": self._level("root", self.link, self.depth)}},
        ]

    def more(self, ids: list[str]) -> Any:
        """/api/morechildren: the comments asked for, flat; what is below each hides behind
        a "continue this thread" stub."""
        things: list[Any] = []
        for cid in ids:
            things.append({"kind": "t1", "data": copy.deepcopy(self.by_id[cid])})
            if self.kids.get(cid):
                stub = {"count": 0, "name": "t1__", "id": "_", "parent_id": f"t1_{cid}", "children": []}
                things.append({"kind": "more", "data": stub})
        return {"json": {"errors": [], "data": {"things": things}}}

    def continued(self, cid: str) -> Any:
        data = copy.deepcopy(self.by_id[cid])
        data["replies"] = {"kind": "Listing", "data": {"children": self._level(cid, f"t1_{cid}", self.depth)}}
        return [self.post_listing, {"kind": "Listing", "data": {"children": [{"kind": "t1", "data": data}]}}]

    def route(self, path: str, q: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        link = self.link[3:]
        if path == f"/comments/{link}/.json":
            return 200, {}, self.page()
        if path == "/api/morechildren.json":
            assert q["link_id"] == [self.link] and q["api_type"] == ["json"]
            ids = q["children"][0].split(",")
            assert len(ids) <= 100
            return 200, {"x-ratelimit-remaining": "99", "x-ratelimit-reset": "60"}, self.more(ids)
        prefix = f"/comments/{link}/_/"
        if path.startswith(prefix):
            return 200, {}, self.continued(path[len(prefix) :].strip("/").removesuffix("/.json").removesuffix(".json"))
        return not_found()


URL_REDDIT = "https://www.reddit.com/r/AskReddit/comments/3hahrw/some_title/"


def test_reddit_every_stub_expanded(server: Replay, threads_dir: Path, tmp_path: Path) -> None:
    post, comments = _reddit_comments(threads_dir)
    pager = RedditPager(post, comments)
    server.route = pager.route
    result = fetch(URL_REDDIT, settings=settings_for(server))
    paths = server.paths()
    assert paths[0] == "/comments/3hahrw/.json"
    assert "/api/morechildren.json" in paths and any("/_/" in p for p in paths)
    t = saved(tmp_path, result, "reddit_3hahrw.json")
    want = {c["id"]: c["parent_id"][3:] for c in comments}  # top-level comments answer the post
    assert tree(t) == want and len(t.comments) == len(comments) == 533
    assert t.extra["not_loaded"] == 0 and t.extra["more"]["unresolved_stubs"] == 0 and t.repairs == []
    assert result.comments == 533 and t.post is not None and t.post.id == "3hahrw"
    # the files are Reddit's own JSON: the page as sent, the answers beside it
    assert load(tmp_path / "reddit_3hahrw.json") == pager.page()
    folder = tmp_path / "reddit_3hahrw_morechildren"
    assert sorted(p.name for p in folder.iterdir()) == ["continue.json", "morechildren.json"]
    assert all("json" in body for body in load(folder / "morechildren.json"))


def test_reddit_recorded_answers_replayed(server: Replay, threads_dir: Path, tmp_path: Path) -> None:
    """The sample page as Reddit sent it, and its 12 recorded /api/morechildren answers."""
    page = load(threads_dir / "reddit" / "reddit_3hahrw.json")
    recorded = {
        frozenset(parse_qs(c["request_body"])["children"][0].split(",")): c["response"]
        for c in load(threads_dir / "reddit" / "reddit_3hahrw_morechildren.json")
    }
    by_id = {}
    stack = list(page[1]["data"]["children"])
    while stack:
        t = stack.pop()
        if t["kind"] == "t1":
            by_id[t["data"]["id"]] = t
            if isinstance(t["data"].get("replies"), dict):
                stack.extend(t["data"]["replies"]["data"]["children"])

    def route(path: str, q: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        if path == "/comments/3hahrw/.json":
            return 200, {}, page
        if path == "/api/morechildren.json":
            key = frozenset(q["children"][0].split(","))
            return (
                (200, {}, recorded[key])
                if key in recorded
                else (200, {}, {"json": {"errors": [], "data": {"things": []}}})
            )
        if path.startswith("/comments/3hahrw/_/"):  # continue this thread: nothing more was recorded
            cid = path.split("/")[4]
            thing = copy.deepcopy(by_id[cid])
            thing["data"]["replies"] = ""
            return 200, {}, [page[0], {"kind": "Listing", "data": {"children": [thing]}}]
        return not_found()

    server.route = route
    t = saved(tmp_path, fetch(URL_REDDIT, settings=settings_for(server)), "reddit_3hahrw.json")
    want = one(parse_path(threads_dir / "reddit" / "reddit_3hahrw.json"))
    assert tree(t) == tree(want) and len(t.comments) == 476 + 57
    assert sum(p == "/api/morechildren.json" for p in server.paths()) == 12


# ---------------------------------------------------------------------- Hacker News
def _hn_items(doc: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """HNPWA nested JSON back into the official API's items."""
    story = {"id": doc["id"], "type": "story", "by": doc.get("user"), "time": doc["time"], "title": doc["title"]}
    story["descendants"] = doc.get("comments_count", doc.get("commentscount"))
    items = {doc["id"]: story}
    stack = [(c, doc["id"]) for c in reversed(doc["comments"])]  # popped in page order
    while stack:
        c, parent = stack.pop()
        item = {"id": c["id"], "type": "comment", "parent": parent, "time": c["time"]}
        if c.get("deleted"):
            item["deleted"] = True
        else:
            item["by"], item["text"] = c.get("user"), c.get("content")
        items[c["id"]] = item
        items[parent].setdefault("kids", []).append(c["id"])
        stack.extend((k, c["id"]) for k in reversed(c.get("comments") or []))
    return items


def test_hackernews_items_level_by_level(server: Replay, threads_dir: Path, tmp_path: Path) -> None:
    sample = threads_dir / "hackernews" / "hn_1_y_combinator.json"
    items = _hn_items(load(sample))
    server.route = lambda path, q: (
        (200, {}, items[int(path.split("/")[-1].removesuffix(".json"))]) if path.startswith("/item/") else not_found()
    )
    result = fetch("https://news.ycombinator.com/item?id=1", settings=settings_for(server))
    assert len(server.log) == len(items)
    t = saved(tmp_path, result)
    want = one(parse_path(sample))
    assert t.id == want.id == "hn:1" and tree(t) == tree(want) and len(t.comments) == len(items) - 1
    assert [(r["id"], r["author"]) for r in t.records()] == [(r["id"], r["author"]) for r in want.records()]


# ---------------------------------------------------------------------- YouTube
def test_youtube_pages_and_replies(server: Replay, threads_dir: Path, tmp_path: Path) -> None:
    sample = threads_dir / "youtube" / "commentThreads_video_XYAe15w39LQ.json"
    doc = load(sample)
    key = "test-key-123"
    full_replies = {it["id"]: it.get("replies", {}).get("comments", []) for it in doc["items"]}

    def route(path: str, q: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        assert q["key"] == [key]
        if path == "/commentThreads":
            assert q["videoId"] == ["XYAe15w39LQ"]
            start = int((q.get("pageToken") or ["0"])[0])
            items = copy.deepcopy(doc["items"][start : start + 40])
            for it in items:  # the listing carries only the first replies of a thread
                if "replies" in it:
                    it["replies"]["comments"] = it["replies"]["comments"][:1]
                    it["snippet"]["totalReplyCount"] = len(full_replies[it["id"]])
            page = {"kind": doc["kind"], "etag": "e", "pageInfo": {"totalResults": 40, "resultsPerPage": 40}}
            page["items"] = items
            if start + 40 < len(doc["items"]):
                page["nextPageToken"] = str(start + 40)
            return 200, {}, page
        if path == "/comments":
            replies = full_replies[q["parentId"][0]]
            start = int((q.get("pageToken") or ["0"])[0])
            page = {"kind": "youtube#commentListResponse", "items": replies[start : start + 2]}
            if start + 2 < len(replies):
                page["nextPageToken"] = str(start + 2)
            return 200, {}, page
        return not_found()

    server.route = route
    result = fetch("https://www.youtube.com/watch?v=XYAe15w39LQ&t=10s", settings=settings_for(server, youtube_key=key))
    assert sum(p == "/commentThreads" for p in server.paths()) == 3
    t = saved(tmp_path, result)
    want = one(parse_path(sample))
    assert t.id == want.id == "youtube:XYAe15w39LQ" and tree(t) == tree(want) and len(t.comments) == 99 + 88
    assert "not_loaded" not in t.extra  # every reply the threads count came


def test_youtube_needs_a_key_and_hides_it(server: Replay, monkeypatch: pytest.MonkeyPatch) -> None:
    server.route = lambda p, q: (403, {}, {"error": {"code": 403, "message": "The video has disabled comments."}})
    with pytest.raises(AnalyzerError, match="YOUTUBE_API_KEY"):
        fetch("https://youtu.be/XYAe15w39LQ", settings=settings_for(server))
    assert server.log == []  # refused before any request
    with pytest.raises(FetchError) as err:
        fetch("https://youtu.be/XYAe15w39LQ", settings=settings_for(server, youtube_key="SECRET-KEY"))
    assert "disabled comments" in str(err.value) and "SECRET-KEY" not in str(err.value) and "key=***" in str(err.value)


# ---------------------------------------------------------------------- Discourse
def test_discourse_topic_and_posts_pages(server: Replay, threads_dir: Path, tmp_path: Path) -> None:
    pages = [load(p) for p in sorted((threads_dir / "discourse").glob("*.json"))]
    posts = {p["id"]: p for page in pages for p in page["post_stream"]["posts"]}
    stream = [p["id"] for p in sorted(posts.values(), key=lambda p: p["post_number"])]
    topic = {"id": 2144, "title": "A topic", "slug": "a-topic", "posts_count": len(stream)}
    topic["post_stream"] = {"posts": [posts[i] for i in stream[:20]], "stream": stream}

    def route(path: str, q: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        if path == "/forum/t/2144.json":
            return 200, {}, topic
        if path == "/forum/t/2144/posts.json":
            ids = [int(i) for i in q["post_ids[]"]]
            assert len(ids) <= 20
            return 200, {}, {"post_stream": {"posts": [posts[i] for i in ids]}, "id": 2144}
        return not_found()

    server.route = route
    result = fetch(f"{server.base}/forum/t/a-topic/2144/7", settings=settings_for(server))
    assert server.paths() == ["/forum/t/2144.json", "/forum/t/2144/posts.json"]
    t = saved(tmp_path, result)
    want = one(parse_path(threads_dir / "discourse"))
    assert t.id == want.id == "discourse:2144" and tree(t) == tree(want) and len(t.comments) + 1 == 29
    assert max(c.depth for c in t.comments) == max(c.depth for c in want.comments)
    assert "not_loaded" not in t.extra


# ---------------------------------------------------------------------- Mastodon
def test_mastodon_status_and_context(server: Replay, threads_dir: Path, tmp_path: Path) -> None:
    context = load(threads_dir / "mastodon" / "mastodon_status_context.json")
    focal_id = context["descendants"][0]["in_reply_to_id"]
    focal = copy.deepcopy(context["ancestors"][-1])  # the sample lacks the status itself
    focal.update(id=focal_id, in_reply_to_id=context["ancestors"][-1]["id"], content="<p>the status</p>")
    focal["replies_count"] = 1
    child = context["descendants"][0]
    later = copy.deepcopy(child)  # a reply the anonymous context left out, found by asking its parent
    later.update(id="999", in_reply_to_id=child["id"], content="<p>deeper</p>")
    shallow = {"ancestors": context["ancestors"], "descendants": [{**child, "replies_count": 1}]}

    def route(path: str, q: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        if path == f"/api/v1/statuses/{focal_id}":
            return 200, {}, focal
        if path == f"/api/v1/statuses/{focal_id}/context":
            return 200, {}, shallow
        if path == f"/api/v1/statuses/{child['id']}/context":
            return 200, {}, {"ancestors": [], "descendants": [later]}
        return not_found()

    server.route = route
    result = fetch(f"{server.base}/@halcy/{focal_id}", settings=settings_for(server))
    t = saved(tmp_path, result)
    want = one(parse_path(threads_dir / "mastodon" / "mastodon_status_context.json"))
    assert {k: v for k, v in tree(t).items() if k != "999"} == tree(want)
    assert t.get("999").parent_id == child["id"] and t.get(focal_id).text == "the status"
    assert len(server.log) == 3


# ---------------------------------------------------------------------- Bluesky
class BlueskyServer:
    """getPostThread over a sample's tree, answering only ``cap`` levels below the post
    asked about (as the AppView does for big threads), with its parents above it."""

    def __init__(self, doc: dict[str, Any], cap: int = 1) -> None:
        self.cap = cap
        self.nodes: dict[str, dict[str, Any]] = {}
        self.parent: dict[str, str] = {}
        stack = [doc["thread"]]
        while stack:
            node = stack.pop()
            uri = node["post"]["uri"]
            self.nodes[uri] = node
            for r in node.get("replies") or []:
                if "post" in r:
                    self.parent[r["post"]["uri"]] = uri
                    stack.append(r)
        self.root = doc["thread"]["post"]

    def _cut(self, node: dict[str, Any], levels: int) -> dict[str, Any]:
        out = {k: v for k, v in node.items() if k not in ("replies", "parent")}
        if levels > 0:
            out["replies"] = [self._cut(r, levels - 1) if "post" in r else r for r in node.get("replies") or []]
        return out

    def route(self, path: str, q: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        if path == "/xrpc/com.atproto.identity.resolveHandle":
            assert q["handle"] == [self.root["author"]["handle"]]
            return 200, {}, {"did": self.root["author"]["did"]}
        if path == "/xrpc/app.bsky.feed.getPostThread":
            uri = q["uri"][0]
            if uri not in self.nodes:
                return 400, {}, {"error": "NotFound", "message": "Post not found"}
            view = self._cut(self.nodes[uri], self.cap)
            at, up = view, self.parent.get(uri)
            while up:
                at["parent"] = self._cut(self.nodes[up], 0)
                at, up = at["parent"], self.parent.get(up)
            return 200, {}, {"thread": view}
        return not_found()


@pytest.mark.parametrize("name", ["bsky_getPostThread_nested_depth3.json", "bsky_getPostThread_nested_small.json"])
def test_bluesky_thread_deeper_than_one_answer(server: Replay, threads_dir: Path, tmp_path: Path, name: str) -> None:
    doc = load(threads_dir / "bluesky" / name)
    fake = BlueskyServer(doc, cap=1)
    server.route = fake.route
    root = doc["thread"]["post"]
    rkey = root["uri"].rsplit("/", 1)[-1]
    result = fetch(f"https://bsky.app/profile/{root['author']['handle']}/post/{rkey}", settings=settings_for(server))
    t = saved(tmp_path, result)
    want = one(parse_path(threads_dir / "bluesky" / name))
    assert t.id == want.id and tree(t) == tree(want) and len(t.comments) == len(want.comments)
    assert t.extra["not_loaded"] == want.extra["not_loaded"]
    if name == "bsky_getPostThread_nested_small.json":
        # its blocked/missing nodes were inserted by hand, a second pair under a post whose
        # replyCount is 0: an answer cut above that post gives no sign of them
        assert (t.extra["blocked_posts"], want.extra["blocked_posts"]) == (1, 2)
    else:
        assert t.extra.get("blocked_posts") == want.extra.get("blocked_posts")
    assert sum(p.endswith("getPostThread") for p in server.paths()) > 1  # it had to ask again


# ---------------------------------------------------------------------- rate limits and failures
def test_429_retry_after_is_obeyed(server: Replay, threads_dir: Path, tmp_path: Path) -> None:
    items = _hn_items(load(threads_dir / "hackernews" / "hn_1_y_combinator.json"))
    limited: list[float] = []

    def route(path: str, q: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        iid = int(path.split("/")[-1].removesuffix(".json"))
        if iid == 1 and not limited:
            limited.append(time.monotonic())
            return 429, {"Retry-After": "1"}, {"error": "slow down"}
        return 200, {}, items[iid]

    server.route = route
    t = saved(tmp_path, fetch("https://news.ycombinator.com/item?id=1", settings=settings_for(server)))
    assert len(t.comments) == len(items) - 1
    first, second = [when for when, path, _ in server.log if path == "/item/1.json"]
    assert second - first >= 0.95


def test_retry_after_over_the_cap_fails_at_once(server: Replay) -> None:
    server.route = lambda p, q: (429, {"Retry-After": "3600"}, {"error": "slow down"})
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"item/1\.json: HTTP 429.*wait 3600 s, more than the 60 s allowed"):
        fetch("https://news.ycombinator.com/item?id=1", settings=settings_for(server, max_wait=60))
    assert time.monotonic() - started < 5 and len(server.log) == 1


def _cli(args: list[str], server: Replay, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "THREAD_ANALYZER_FETCH_INTERVAL": "0", **env}
    for p in ("REDDIT", "HACKERNEWS", "YOUTUBE", "BLUESKY"):
        full[f"THREAD_ANALYZER_FETCH_BASE_{p}"] = server.base
    return subprocess.run(
        [sys.executable, "-m", "analyzer", "fetch", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=120,
    )


def test_cli_http_error_is_one_line_and_writes_nothing(server: Replay, threads_dir: Path, tmp_path: Path) -> None:
    items = _hn_items(load(threads_dir / "hackernews" / "hn_1_y_combinator.json"))
    broken = sorted(items)[-1]

    def route(path: str, q: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        iid = int(path.split("/")[-1].removesuffix(".json"))
        return (500, {}, b"Internal Server Error") if iid == broken else (200, {}, items[iid])

    server.route = route
    out = tmp_path / "out"
    out.mkdir()
    r = _cli(["https://news.ycombinator.com/item?id=1", "--out", str(out / "hn.json")], server, tmp_path)
    assert r.returncode == 2, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert lines == [f"error: {server.base}/item/{broken}.json: HTTP 500 Internal Server Error"]
    assert "Traceback" not in r.stderr and list(out.iterdir()) == []


def test_cli_timeout_is_one_line_and_writes_nothing(server: Replay, tmp_path: Path) -> None:
    def route(path: str, q: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        time.sleep(3)
        return 200, {}, {}

    server.route = route
    r = _cli([f"{server.base}/t/slow/5"], server, tmp_path, THREAD_ANALYZER_FETCH_TIMEOUT="0.5")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == f"error: {server.base}/t/5.json: timed out after 0.5 s"
    assert list(tmp_path.iterdir()) == []


def test_cli_fetch_saves_and_imports(server: Replay, threads_dir: Path, tmp_path: Path) -> None:
    items = _hn_items(load(threads_dir / "hackernews" / "hn_1_y_combinator.json"))
    server.route = lambda path, q: (200, {}, items[int(path.split("/")[-1].removesuffix(".json"))])
    db = tmp_path / "store.db"
    r = _cli(["https://news.ycombinator.com/item?id=1", "--import", "--no-score", "--db", str(db)], server, tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "hn_1.json").is_file() and "-> hn_1.json" in r.stdout
    assert "1 thread(s) into" in r.stdout and f"comments {len(items) - 1} added" in r.stdout
    again = subprocess.run(
        [sys.executable, "-m", "analyzer", "parse", "hn_1.json"], capture_output=True, text=True, cwd=tmp_path
    )
    assert again.returncode == 0 and len(again.stdout.splitlines()) == len(items)


def test_unknown_links_are_refused_without_network() -> None:
    for url in ("https://example.com/article", "ftp://news.ycombinator.com/item?id=1", "not a url at all"):
        with pytest.raises(AnalyzerError, match="not a"):
            resolve(url)
    assert resolve("news.ycombinator.com/item?id=8863")[0] == "hackernews"


def test_write_is_atomic_and_replaces_old_companions(tmp_path: Path) -> None:
    from analyzer.fetching.common import Fetched

    dest = tmp_path / "reddit_x.json"
    write_atomic(Fetched("reddit", "u", dest.name, [1], {"morechildren.json": [2]}), dest)
    assert (tmp_path / "reddit_x_morechildren" / "morechildren.json").is_file()
    write_atomic(Fetched("reddit", "u", dest.name, [3]), dest)
    assert load(dest) == [3] and not (tmp_path / "reddit_x_morechildren").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reddit_x.json"]  # no temporary left behind


def test_import_page_fetches_a_pasted_link(server: Replay, threads_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """The dashboard's "Paste a link" box: the thread is fetched (from loopback here), stored, opened."""
    import streamlit as st
    from dashboard_data import REPO, open_page
    from streamlit.testing.v1 import AppTest

    from analyzer.store import Store

    items = _hn_items(load(threads_dir / "hackernews" / "hn_1_y_combinator.json"))
    server.route = lambda path, q: (
        (200, {}, items[int(path.split("/")[-1].removesuffix(".json"))]) if path.startswith("/item/") else not_found()
    )
    db = tmp_path / "store.db"
    monkeypatch.setenv("THREAD_ANALYZER_DB", str(db))
    monkeypatch.setenv("THREAD_ANALYZER_FETCH_BASE_HACKERNEWS", server.base)
    monkeypatch.setenv("THREAD_ANALYZER_FETCH_INTERVAL", "0")
    st.cache_data.clear()
    st.cache_resource.clear()
    at = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=240), "import")
    assert not server.log  # nothing is fetched before the button
    at.text_input(key="imp_url").set_value("https://news.ycombinator.com/item?id=1")
    next(b for b in at.button if b.label == "Fetch and import").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with Store.open(db, create=False) as store:
        loaded = store.load_thread("hn:1")
    assert len(loaded.thread.comments) == len(items) - 1
    st.cache_resource.clear()


def test_import_page_names_a_failed_link(server: Replay, tmp_path: Path, monkeypatch) -> None:
    import streamlit as st
    from dashboard_data import REPO, open_page
    from streamlit.testing.v1 import AppTest

    server.route = lambda path, q: (500, {}, {"error": "boom"})
    monkeypatch.setenv("THREAD_ANALYZER_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("THREAD_ANALYZER_FETCH_BASE_HACKERNEWS", server.base)
    st.cache_resource.clear()
    at = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=240), "import")
    at.text_input(key="imp_url").set_value("https://news.ycombinator.com/item?id=1")
    next(b for b in at.button if b.label == "Fetch and import").click().run()
    assert not at.exception
    shown = " ".join(str(e.value) for e in at.error)
    assert "could not be fetched" in shown and "500" in shown
    st.cache_resource.clear()
