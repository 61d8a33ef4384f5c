"""Mastodon (and servers with Mastodon's API): ``/api/v1/statuses/ID`` and its
``/context``. Servers cut the context short for anonymous readers (Mastodon sends at most
60 descendants, 20 levels deep), so a status that says it has more replies than arrived
gets its own ``/context`` too, each status at most once. Saved as ``[status, context]``
with the descendants of every call merged, each status once."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from analyzer.fetching.common import Client, Fetched, FetchError, Progress, Settings, safe_name

NAME = "mastodon"
INTERVAL = 0.2  # Mastodon allows 300 requests per 5 minutes per address
_PATHS = (
    re.compile(r"^/@[^/]+/(?P<id>\d{1,24})/?$"),  # /@user/ID and /@user@remote.host/ID
    re.compile(r"^/users/[^/]+/statuses/(?P<id>\d{1,24})/?$"),
    re.compile(r"^/notice/(?P<id>[A-Za-z0-9]{1,32})/?$"),  # Pleroma / Akkoma
)


def match(url: str) -> tuple[str, str] | None:
    """(server base URL, status id) of ``https://server/@user/ID`` (any host)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    for pattern in _PATHS:
        m = pattern.match(parts.path)
        if m:
            return f"{parts.scheme}://{parts.netloc}", m.group("id")
    return None


def fetch(url: str, target: tuple[str, str], settings: Settings, progress: Progress) -> Fetched:
    server, status_id = target
    base = settings.base(NAME, server)
    with Client(settings, interval=INTERVAL) as client:
        status = client.get_json(f"{base}/api/v1/statuses/{status_id}")
        if not isinstance(status, dict) or "id" not in status or "content" not in status:
            raise FetchError("not a Mastodon status", source=url)
        context = _context(client, base, status_id, url)
        progress.total(status.get("replies_count") if isinstance(status.get("replies_count"), int) else None)
        descendants: dict[str, dict[str, Any]] = {}
        for s in context["descendants"]:
            descendants.setdefault(str(s["id"]), s)
        progress.update(len(descendants) + 1)
        asked = {str(status["id"])}
        while True:
            todo = _short(status, descendants, asked)
            if not todo:
                break
            for sid in todo:
                asked.add(sid)
                before = len(descendants)
                for s in _context(client, base, sid, url)["descendants"]:
                    descendants.setdefault(str(s["id"]), s)
                progress.update(len(descendants) - before)
        merged = {"ancestors": context["ancestors"], "descendants": list(descendants.values())}
        host = urlsplit(server).hostname or "server"
        name = safe_name("mastodon", host, status_id)
        return Fetched(NAME, url, name, [status, merged], {}, client.requests, len(descendants))


def _context(client: Client, base: str, sid: str, url: str) -> dict[str, list[dict[str, Any]]]:
    doc = client.get_json(f"{base}/api/v1/statuses/{sid}/context")
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), list) for k in ("ancestors", "descendants")):
        raise FetchError("not a Mastodon status context", source=url)
    return {k: [s for s in doc[k] if isinstance(s, dict) and "id" in s] for k in ("ancestors", "descendants")}


def _short(status: dict[str, Any], descendants: dict[str, dict[str, Any]], asked: set[str]) -> list[str]:
    """Statuses not yet asked about whose ``replies_count`` is more than the replies we hold."""
    have: dict[str, int] = {}
    for s in descendants.values():
        parent = s.get("in_reply_to_id")
        if parent is not None:
            have[str(parent)] = have.get(str(parent), 0) + 1
    out = []
    for s in [status, *descendants.values()]:
        sid = str(s["id"])
        count = s.get("replies_count")
        if sid not in asked and isinstance(count, int) and count > have.get(sid, 0):
            out.append(sid)
    return out
