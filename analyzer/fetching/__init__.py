"""A thread by its link: a Reddit, Hacker News, YouTube, Discourse, Mastodon or Bluesky URL
turned into that platform's public API calls, every page fetched, and saved as the
platform's own JSON, in the shape ``analyzer parse`` reads.

``fetch(url)`` returns a ``Fetched``; ``write_atomic(fetched, path)`` saves it. The network is
touched only inside ``fetch``, which only ``analyzer fetch`` (and the dashboard, on a user's
request) calls. Each platform module has ``match(url)`` (what to fetch, or None) and
``fetch(url, target, settings, progress)``; none is imported until a URL needs it.
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import urlsplit

from analyzer.errors import AnalyzerError
from analyzer.fetching.common import Fetched, FetchError, Progress, Settings, write_atomic

# platform -> module; matched in this order (Discourse and Mastodon accept any host, so last)
PLATFORMS: dict[str, str] = {
    "reddit": "analyzer.fetching.reddit",
    "hackernews": "analyzer.fetching.hackernews",
    "youtube": "analyzer.fetching.youtube",
    "bluesky": "analyzer.fetching.bluesky",
    "discourse": "analyzer.fetching.discourse",
    "mastodon": "analyzer.fetching.mastodon",
}

EXAMPLES = (
    "https://www.reddit.com/r/SUB/comments/ID/slug/, https://news.ycombinator.com/item?id=N, "
    "https://www.youtube.com/watch?v=ID, https://FORUM/t/slug/ID, https://SERVER/@user/ID, "
    "https://bsky.app/profile/HANDLE/post/RKEY"
)

__all__ = ["EXAMPLES", "PLATFORMS", "FetchError", "Fetched", "Progress", "Settings", "fetch", "resolve", "write_atomic"]


def resolve(url: str) -> tuple[str, Any]:
    """(platform, what to fetch) for a thread URL; ``AnalyzerError`` naming the URL when no
    platform recognises it. Touches no network."""
    text = url.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise AnalyzerError("not a web address (http:// or https://)", source=url)
    for platform, module in PLATFORMS.items():
        target = importlib.import_module(module).match(text)
        if target is not None:
            return platform, (text, target)
    raise AnalyzerError(f"not a thread link this tool can fetch; links look like: {EXAMPLES}", source=url)


def fetch(url: str, *, settings: Settings | None = None, progress: Progress | None = None) -> Fetched:
    """Fetch the whole thread at ``url`` (see the module docs); ``FetchError`` (one line,
    naming the URL) on a timeout, an HTTP error or an answer of the wrong shape."""
    platform, (normalized, target) = resolve(url)
    module = importlib.import_module(PLATFORMS[platform])
    return module.fetch(normalized, target, settings or Settings.from_env(), progress or Progress())
