"""The formats ``--format`` accepts and the function that reads each.

*A new format:* its name and a line on what it reads in ``FORMATS``, its ``module:function``
in ``PARSERS`` (imported only when used), and a test in ``parsers.detection`` when it can be
told from its content.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from analyzer.parsers.base import Context, Source
from analyzer.thread import Thread

# name -> what it reads (the names ``--format`` accepts)
FORMATS: dict[str, str] = {
    "pasted": "a comment section copied from a web page as plain text (layouts: wpdiscuz)",
    "reddit": "Reddit /comments/<id>/.json; 'load more' bodies in <name>_morechildren.json or <name>_morechildren/ merged in",
    "hackernews": "Hacker News: HNPWA-style nested JSON, or a JSON list of official API items",
    "youtube": "YouTube Data API v3 comment threads, comments, or single resources",
    "disqus": "a Disqus XML export",
    "csv": "CSV or TSV with a header row (id, parent, thread, author, time, text columns)",
    "jsonl": "JSON Lines, or a JSON array of objects, with the same columns as csv",
    "pheme": "a PHEME/RumourEval Twitter conversation folder, or its structure-only JSON Lines",
    "discourse": "Discourse topic JSON (/t/<id>.json) and /t/<id>/posts.json pages; pages of a topic merge",
    "bluesky": "Bluesky app.bsky.feed.getPostThread responses",
    "mastodon": "Mastodon /api/v1/statuses/<id>/context, with or without the status itself",
    "x": "X/Twitter: v2 API conversation responses, or the web client's GraphQL TweetDetail",
    "reddit-dump": "Pushshift / Arctic Shift NDJSON dumps (.zst too), streamed, one thread per link_id",
}

# name -> "module:function" taking (Source, Context) and returning the threads
PARSERS: dict[str, str] = {
    "pasted": "analyzer.parsers.pasted:parse",
    "reddit": "analyzer.parsers.reddit:parse",
    "hackernews": "analyzer.parsers.hackernews:parse",
    "youtube": "analyzer.parsers.youtube:parse",
    "disqus": "analyzer.parsers.disqus:parse",
    "csv": "analyzer.parsers.tabular:parse_csv",
    "jsonl": "analyzer.parsers.tabular:parse_jsonl",
    "pheme": "analyzer.parsers.pheme:parse_structure",
    "discourse": "analyzer.parsers.discourse:parse",
    "bluesky": "analyzer.parsers.bluesky:parse",
    "mastodon": "analyzer.parsers.mastodon:parse",
    "x": "analyzer.parsers.twitter:parse",
    "reddit-dump": "analyzer.parsers.reddit_dump:parse",
}


def parser_for(name: str, src: Source) -> Callable[[Source, Context], list[Thread]]:
    """The parse function of format ``name`` (its module imported now); an ``InputError``
    on ``src`` for a name that is not a format."""
    if name not in PARSERS:
        raise src.fail(f"unknown format {name!r}; formats are: {', '.join(FORMATS)}")
    module, attr = PARSERS[name].split(":")
    parse: Callable[[Source, Context], list[Thread]] = getattr(importlib.import_module(module), attr)
    return parse
