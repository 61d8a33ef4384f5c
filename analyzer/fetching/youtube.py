"""YouTube: Data API v3 ``commentThreads.list`` for the video, page by page
(``pageToken``), then ``comments.list?parentId=`` for every thread whose replies the
thread listing cut short (it carries five at most). Needs an API key
(``YOUTUBE_API_KEY``). Saved as one ``youtube#commentThreadListResponse`` holding every
page's items, each thread's ``replies.comments`` complete."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from analyzer.errors import AnalyzerError
from analyzer.fetching.common import Client, Fetched, FetchError, Progress, Settings, safe_name

NAME = "youtube"
DEFAULT_BASE = "https://www.googleapis.com/youtube/v3"
INTERVAL = 0.1  # quota, not rate, is YouTube's limit: a list call costs 1 of 10,000 units a day
_ID = re.compile(r"^[A-Za-z0-9_-]{6,20}$")
_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be"}


def match(url: str) -> str | None:
    """The video id of ``youtube.com/watch?v=ID``, ``youtu.be/ID`` or ``youtube.com/shorts/ID``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host not in _HOSTS:
        return None
    if host == "youtu.be":
        vid = parts.path.strip("/")
    elif parts.path.rstrip("/") == "/watch":
        vid = (parse_qs(parts.query).get("v") or [""])[0]
    else:
        m = re.match(r"^/(?:shorts|live|embed)/([^/]+)", parts.path)
        vid = m.group(1) if m else ""
    return vid if _ID.match(vid) else None


def fetch(url: str, video: str, settings: Settings, progress: Progress) -> Fetched:
    if not settings.youtube_key:
        raise AnalyzerError(
            "YouTube's API needs a key: set YOUTUBE_API_KEY to a YouTube Data API v3 key "
            "(Google Cloud console → APIs & Services → Credentials)",
            source=url,
        )
    base = settings.base(NAME, DEFAULT_BASE)
    key = settings.youtube_key
    with Client(settings, interval=INTERVAL) as client:
        items: list[Any] = []
        first: dict[str, Any] | None = None
        token: str | None = None
        while True:
            params = {"part": "snippet,replies", "videoId": video, "maxResults": "100", "key": key}
            if token:
                params["pageToken"] = token
            page = _listing(client.get_json(f"{base}/commentThreads", params), "youtube#commentThreadListResponse", url)
            first = first or page
            found = [it for it in page.get("items") or [] if isinstance(it, dict)]
            items.extend(found)
            progress.update(len(found) + sum(len(_replies(it)) for it in found))
            token = page.get("nextPageToken") if isinstance(page.get("nextPageToken"), str) else None
            if not token:
                break
        for item in items:
            snippet = item.get("snippet") if isinstance(item.get("snippet"), dict) else {}
            total = snippet.get("totalReplyCount")
            have = _replies(item)
            top_id = item.get("id")
            if not isinstance(total, int) or total <= len(have) or not isinstance(top_id, str):
                continue
            replies: list[Any] = []
            token = None
            while True:
                params = {"part": "snippet", "parentId": top_id, "maxResults": "100", "key": key}
                if token:
                    params["pageToken"] = token
                page = _listing(client.get_json(f"{base}/comments", params), "youtube#commentListResponse", url)
                replies.extend(r for r in page.get("items") or [] if isinstance(r, dict))
                token = page.get("nextPageToken") if isinstance(page.get("nextPageToken"), str) else None
                if not token:
                    break
            progress.update(max(len(replies) - len(have), 0))
            item["replies"] = {"comments": replies}

        assert first is not None
        doc = {k: v for k, v in first.items() if k not in ("nextPageToken", "items")}
        doc["pageInfo"] = {"totalResults": len(items), "resultsPerPage": len(items)}
        doc["items"] = items
        count = len(items) + sum(len(_replies(it)) for it in items)
        return Fetched(NAME, url, safe_name("youtube", video), doc, {}, client.requests, count)


def _listing(doc: Any, kind: str, url: str) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("kind") != kind:
        raise FetchError(f"YouTube did not answer with a {kind}", source=url)
    return doc


def _replies(item: dict[str, Any]) -> list[Any]:
    replies = item.get("replies")
    comments = replies.get("comments") if isinstance(replies, dict) else None
    return comments if isinstance(comments, list) else []
