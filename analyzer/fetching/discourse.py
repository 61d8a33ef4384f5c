"""Discourse: the topic JSON (``/t/ID.json``: the first posts and ``post_stream.stream``,
every post id in order), then the rest through ``/t/ID/posts.json?post_ids[]=...`` pages of
twenty. Saved as one topic JSON whose ``post_stream.posts`` holds every post, in order."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from analyzer.fetching.common import Client, Fetched, FetchError, Progress, Settings, safe_name

NAME = "discourse"
INTERVAL = 0.5  # Discourse allows anonymous readers about 200 requests a minute
_PAGE = 20  # posts per posts.json call, as Discourse itself asks for them
_PATH = re.compile(r"^(?P<prefix>(?:/[^/]+)*?)/t/(?:(?P<slug>[^/]+)/)?(?P<id>\d{1,12})(?:/\d+)?/?$")


def match(url: str) -> tuple[str, str, str] | None:
    """(forum base URL, slug, topic id) of ``https://forum/t/slug/ID[/N]`` (any host)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    m = _PATH.match(parts.path)
    if not m:
        return None
    base = f"{parts.scheme}://{parts.netloc}{m.group('prefix')}"
    return base, m.group("slug") or "", m.group("id")


def fetch(url: str, target: tuple[str, str, str], settings: Settings, progress: Progress) -> Fetched:
    forum, _slug, topic = target
    base = settings.base(NAME, forum)
    with Client(settings, interval=INTERVAL) as client:
        doc = client.get_json(f"{base}/t/{topic}.json")
        stream_obj = doc.get("post_stream") if isinstance(doc, dict) else None
        if not isinstance(stream_obj, dict) or not isinstance(stream_obj.get("posts"), list):
            raise FetchError("not a Discourse topic (no post_stream in /t/ID.json)", source=url)
        posts: dict[int, dict[str, Any]] = {}
        for p in stream_obj["posts"]:
            if isinstance(p, dict) and isinstance(p.get("id"), int):
                posts.setdefault(p["id"], p)
        stream = [i for i in stream_obj.get("stream") or [] if isinstance(i, int)]
        progress.total(len(stream) or None)
        progress.update(len(posts))
        missing = [i for i in stream if i not in posts]
        for start in range(0, len(missing), _PAGE):
            chunk = missing[start : start + _PAGE]
            page = client.get_json(f"{base}/t/{topic}/posts.json", [("post_ids[]", str(i)) for i in chunk])
            got = page.get("post_stream") if isinstance(page, dict) else None
            if not isinstance(got, dict) or not isinstance(got.get("posts"), list):
                raise FetchError("not a Discourse posts page (no post_stream in posts.json)", source=url)
            before = len(posts)
            for p in got["posts"]:
                if isinstance(p, dict) and isinstance(p.get("id"), int):
                    posts.setdefault(p["id"], p)
            progress.update(len(posts) - before)

        def number(p: dict[str, Any]) -> int:
            n = p.get("post_number")
            return n if isinstance(n, int) else 1 << 30

        stream_obj["posts"] = sorted(posts.values(), key=number)
        host = urlsplit(forum).hostname or "forum"
        return Fetched(NAME, url, safe_name("discourse", host, topic), doc, {}, client.requests, len(posts))
