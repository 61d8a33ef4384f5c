"""Bluesky: ``app.bsky.feed.getPostThread`` on the public AppView, as deep as it goes
(``depth`` 1000), after resolving the handle in the link to a DID. Where the answer stops
short (a post whose ``replyCount`` is more than the replies it came with), that post's own
thread is asked for too, each post at most once. Saved as the response, or a JSON list of
responses about one conversation, which the parser merges."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from analyzer.fetching.common import Client, Fetched, FetchError, Progress, Settings, safe_name

NAME = "bluesky"
DEFAULT_BASE = "https://public.api.bsky.app"
INTERVAL = 0.2  # the public AppView allows about 3000 requests per 5 minutes
_DEPTH = "1000"
_PARENT_HEIGHT = "1000"
_PATH = re.compile(r"^/profile/(?P<actor>[^/]+)/post/(?P<rkey>[A-Za-z0-9._~:-]{1,512})/?$")
_VIEW = "app.bsky.feed.defs#threadViewPost"


def match(url: str) -> tuple[str, str] | None:
    """(handle or DID, record key) of ``bsky.app/profile/HANDLE/post/RKEY``."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in ("bsky.app", "www.bsky.app", "staging.bsky.app"):
        return None
    m = _PATH.match(parts.path)
    return (m.group("actor"), m.group("rkey")) if m else None


def fetch(url: str, target: tuple[str, str], settings: Settings, progress: Progress) -> Fetched:
    actor, rkey = target
    base = settings.base(NAME, DEFAULT_BASE)
    with Client(settings, interval=INTERVAL) as client:
        did = actor
        if not actor.startswith("did:"):
            resolved = client.get_json(f"{base}/xrpc/com.atproto.identity.resolveHandle", {"handle": actor})
            answer = resolved.get("did") if isinstance(resolved, dict) else None
            if not isinstance(answer, str) or not answer.startswith("did:"):
                raise FetchError(f"Bluesky did not resolve the handle {actor!r}", source=url)
            did = answer
        responses: list[Any] = []
        seen: set[str] = set()
        asked: set[str] = set()
        todo = [f"at://{did}/app.bsky.feed.post/{rkey}"]
        while todo:
            uri = todo.pop(0)
            asked.add(uri)
            doc = client.get_json(
                f"{base}/xrpc/app.bsky.feed.getPostThread",
                {"uri": uri, "depth": _DEPTH, "parentHeight": _PARENT_HEIGHT},
            )
            thread = doc.get("thread") if isinstance(doc, dict) else None
            if not isinstance(thread, dict) or not isinstance(thread.get("post"), dict):
                if not responses:
                    kind = str(thread.get("$type")) if isinstance(thread, dict) else ""
                    why = {
                        "app.bsky.feed.defs#blockedPost": "is blocked",
                        "app.bsky.feed.defs#notFoundPost": "was not found",
                    }
                    raise FetchError(f"the post {why.get(kind, 'could not be read')}", source=url)
                continue  # a reply deleted or blocked since the first answer: nothing more below it
            responses.append(doc)
            new, short = _walk(thread, seen)
            progress.update(new)
            todo.extend(u for u in short if u not in asked and u not in todo)
        main: Any = responses[0] if len(responses) == 1 else responses
        handle = actor if not actor.startswith("did:") else did.rsplit(":", 1)[-1]
        count = max(len(seen) - 1, 0)
        return Fetched(NAME, url, safe_name("bluesky", handle, rkey), main, {}, client.requests, count)


def _walk(thread: dict[str, Any], seen: set[str]) -> tuple[int, list[str]]:
    """Posts below ``thread`` not seen before (walked with a stack), and the posts whose
    replies the answer cut short."""
    new = 0
    short: list[str] = []
    stack = [thread]
    while stack:
        node = stack.pop()
        post = node.get("post") if isinstance(node, dict) else None
        if not isinstance(post, dict) or not isinstance(post.get("uri"), str):
            continue
        uri = post["uri"]
        if uri not in seen:
            seen.add(uri)
            new += 1
        replies = node.get("replies")
        replies = replies if isinstance(replies, list) else []
        count = post.get("replyCount")
        if isinstance(count, int) and count > len(replies):
            short.append(uri)
        stack.extend(reversed([r for r in replies if isinstance(r, dict)]))
    return new, short
