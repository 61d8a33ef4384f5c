"""Reddit: ``/comments/ID/.json`` for the thread, then every 'more' stub expanded —
``/api/morechildren`` for the stubs that list comment ids, the "continue this thread" listing
(``/comments/ID/_/COMMENT/.json``) for those that don't — until none is left.

Saved as the parser reads it: the thread's listing as Reddit sent it, and beside it a
``<name>_morechildren/`` folder holding the raw ``/api/morechildren`` bodies
(``morechildren.json``, a list) and the "continue this thread" listings (``continue.json``).
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from analyzer.fetching.common import Client, Fetched, FetchError, Progress, Settings, safe_name

NAME = "reddit"
DEFAULT_BASE = "https://www.reddit.com"
INTERVAL = 1.0  # unauthenticated clients get about 100 requests a minute at best
_CHUNK = 100  # ids per /api/morechildren call (Reddit's cap)
_HOSTS = re.compile(r"(^|\.)reddit\.com$|^redd\.it$", re.IGNORECASE)
_PATH = re.compile(r"^(?:/r/[^/]+)?/comments/([a-z0-9]{1,12})(?:/|$)", re.IGNORECASE)
_ID = re.compile(r"^[a-z0-9]{1,12}$", re.IGNORECASE)


def match(url: str) -> str | None:
    """The submission id of a Reddit thread URL (``/r/X/comments/ID/...``, ``redd.it/ID``)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not _HOSTS.search(host):
        return None
    if host == "redd.it":
        rid = parts.path.strip("/")
        return rid.lower() if _ID.match(rid) else None
    m = _PATH.match(parts.path)
    return m.group(1).lower() if m else None


def fetch(url: str, link: str, settings: Settings, progress: Progress) -> Fetched:
    base = settings.base(NAME, DEFAULT_BASE)
    common = {"raw_json": "1"}
    with Client(settings, interval=INTERVAL) as client:
        page = client.get_json(f"{base}/comments/{link}/.json", {**common, "limit": "500", "sort": "confidence"})
        if not (isinstance(page, list) and len(page) == 2 and all(_is_listing(x) for x in page)):
            raise FetchError("Reddit did not answer with a comments page", source=url)
        post = _children(page[0])
        total = next((d.get("num_comments") for d in (_data(t) for t in post) if "num_comments" in d), None)
        progress.total(total if isinstance(total, int) else None)

        seen: set[str] = set()
        stubs: deque[dict[str, Any]] = deque()
        progress.update(_collect(_children(page[1]), seen, stubs))
        bodies: list[Any] = []
        listings: list[Any] = []
        asked: set[str] = set()
        continued: set[str] = set()
        while stubs:
            stub = stubs.popleft()
            ids = [c for c in stub.get("children") or [] if isinstance(c, str) and c not in seen and c not in asked]
            if stub.get("children"):
                for i in range(0, len(ids), _CHUNK):
                    chunk = ids[i : i + _CHUNK]
                    asked.update(chunk)
                    body = client.get_json(
                        f"{base}/api/morechildren.json",
                        {
                            **common,
                            "api_type": "json",
                            "link_id": f"t3_{link}",
                            "children": ",".join(chunk),
                            "sort": "confidence",
                            "limit_children": "false",
                        },
                    )
                    things = _things(body, url)
                    bodies.append(body)
                    progress.update(_collect(things, seen, stubs))
                continue
            parent = _fullname_id(stub.get("parent_id"))
            if parent is None or parent in continued:
                continue
            continued.add(parent)  # "continue this thread": the parent again, with what is below it
            listing = client.get_json(f"{base}/comments/{link}/_/{parent}/.json", {**common, "limit": "500"})
            if not (isinstance(listing, list) and listing and all(_is_listing(x) for x in listing)):
                raise FetchError("Reddit did not answer with a comments page", source=url)
            listings.append(listing)
            found = 0
            for thing in _children(listing[-1]):
                if _data(thing).get("id") == parent:  # already here: only its replies are new
                    found += _collect(_children(_data(thing).get("replies")), seen, stubs)
                else:
                    found += _collect([thing], seen, stubs)
            progress.update(found)

        companions: dict[str, Any] = {}
        if bodies:
            companions["morechildren.json"] = bodies
        if listings:
            companions["continue.json"] = listings
        return Fetched(NAME, url, safe_name("reddit", link), page, companions, client.requests, len(seen))


def _is_listing(x: Any) -> bool:
    return isinstance(x, dict) and x.get("kind") == "Listing"


def _data(thing: Any) -> dict[str, Any]:
    data = thing.get("data") if isinstance(thing, dict) else None
    return data if isinstance(data, dict) else {}


def _children(listing: Any) -> list[Any]:
    children = _data(listing).get("children")
    return children if isinstance(children, list) else []


def _fullname_id(value: Any) -> str | None:
    """'t1_abc' → 'abc'."""
    if isinstance(value, str) and len(value) > 3 and value[2] == "_":
        return value[3:]
    return None


def _things(body: Any, url: str) -> list[Any]:
    payload = body.get("json") if isinstance(body, dict) else None
    if not isinstance(payload, dict):
        raise FetchError("Reddit's /api/morechildren answer is not the expected JSON", source=url)
    errors = [e for e in payload.get("errors") or [] if e]
    if errors:
        raise FetchError(f"Reddit's /api/morechildren answered with an error: {errors[0]}", source=url)
    things = (payload.get("data") or {}).get("things") if isinstance(payload.get("data"), dict) else None
    return things if isinstance(things, list) else []


def _collect(things: list[Any], seen: set[str], stubs: deque[dict[str, Any]]) -> int:
    """New comments under ``things`` (nested replies walked with a stack), their 'more'
    stubs queued; returns how many new comments there were."""
    new = 0
    stack = list(reversed(things))
    while stack:
        thing = stack.pop()
        if not isinstance(thing, dict):
            continue
        data = _data(thing)
        if thing.get("kind") == "more":
            stubs.append(data)
        elif thing.get("kind") == "t1":
            cid = data.get("id")
            if isinstance(cid, str) and cid not in seen:
                seen.add(cid)
                new += 1
            stack.extend(reversed(_children(data.get("replies"))))
    return new
