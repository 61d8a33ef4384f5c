"""Hacker News: the official API (``/v0/item/N.json``), the story and then its ``kids``
level by level — a few requests in flight at once, never recursion — saved as the JSON
list of items that the parser reads."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

from analyzer.fetching.common import Client, Fetched, FetchError, Progress, Settings, safe_name

NAME = "hackernews"
DEFAULT_BASE = "https://hacker-news.firebaseio.com/v0"
INTERVAL = 0.0  # the Firebase API states no rate limit; WORKERS bounds the load
WORKERS = 8
_HOSTS = {"news.ycombinator.com", "hn.algolia.com"}


def match(url: str) -> str | None:
    """The item id of ``news.ycombinator.com/item?id=N``."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in _HOSTS:
        return None
    ids = parse_qs(parts.query).get("id") or []
    if ids and re.fullmatch(r"\d{1,12}", ids[0]):
        return ids[0]
    return None


def fetch(url: str, item_id: str, settings: Settings, progress: Progress) -> Fetched:
    base = settings.base(NAME, DEFAULT_BASE)
    with Client(settings, interval=INTERVAL) as client:

        def get(iid: int) -> Any:
            return client.get_json(f"{base}/item/{iid}.json")

        root = get(int(item_id))
        if not isinstance(root, dict) or "id" not in root:
            raise FetchError("no such Hacker News item", source=url)
        total = root.get("descendants")
        progress.total(total if isinstance(total, int) else None)
        items: dict[int, dict[str, Any]] = {root["id"]: root}
        frontier = _kids(root, items)
        pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="hn-fetch")
        try:
            while frontier:
                futures = [pool.submit(get, k) for k in frontier]
                answers = [f.result() for f in futures]  # the first failure ends the fetch
                found = [it for it in answers if isinstance(it, dict) and isinstance(it.get("id"), int)]
                frontier = []
                for it in found:
                    if it["id"] not in items:
                        items[it["id"]] = it
                        frontier.extend(_kids(it, items))
                progress.update(len(found))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        ordered = _preorder(root, items)
        return Fetched(NAME, url, safe_name("hn", item_id), ordered, {}, client.requests, len(ordered) - 1)


def _kids(item: dict[str, Any], items: dict[int, Any]) -> list[int]:
    kids = item.get("kids")
    return [k for k in kids if isinstance(k, int) and k not in items] if isinstance(kids, list) else []


def _preorder(root: dict[str, Any], items: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """The items in reading order (each before its replies), walked with a stack."""
    out: list[dict[str, Any]] = []
    done: set[int] = set()
    stack = [root["id"]]
    while stack:
        iid = stack.pop()
        if iid in done or iid not in items:
            continue
        done.add(iid)
        out.append(items[iid])
        kids = items[iid].get("kids")
        if isinstance(kids, list):
            stack.extend(k for k in reversed(kids) if isinstance(k, int))
    return out
