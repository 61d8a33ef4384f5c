"""Telling a format from its bytes: content first (zstd, XML, JSON shapes, copied-page
layouts), the file name only for ties. Each format module says whether a document looks
like its own (``looks_like``); this module asks them in an order that keeps the shapes
apart, and names the formats it knows when none fits."""

from __future__ import annotations

import csv
import json

from analyzer.parsers.base import Source


def detect(src: Source) -> str:
    """The format name for ``src``; an ``InputError`` naming the file when no format fits."""
    from analyzer.parsers.dump_lines import is_zstd

    if is_zstd(src.data[:4]):
        return "reddit-dump"
    src.check_text()
    lower = src.name.lower()
    head = src.data[:65536].decode(src.encoding, errors="ignore").lstrip("\ufeff \t\r\n")
    if not head:
        raise src.fail("the file is empty")
    first = head[0]
    if first == "<":
        return _xml_kind(head, src)
    if first in "[{":
        if lower.endswith((".jsonl", ".ndjson")) or _first_line_is_a_record(head):
            return _jsonl_kind(head)
        return _json_kind(src)
    return _text_kind(head, lower, src)


def _xml_kind(head: str, src: Source) -> str:
    from analyzer.parsers import disqus

    if disqus.looks_like(head[:4096]):
        return "disqus"
    if head[:200].lower().lstrip().startswith(("<!doctype html", "<html")):
        raise src.fail("this is an HTML page; copy the page's text from the browser and paste that instead")
    raise src.fail("XML that is not a Disqus export (no <disqus> root)")


def _text_kind(head: str, lower: str, src: Source) -> str:
    """Neither XML nor JSON: a CSV (by name or header) or a copied comment page."""
    from analyzer.parsers import pasted

    if lower.endswith((".csv", ".tsv", ".tab")):
        return "csv"
    if pasted.detect_profile(src.text) is not None:
        return "pasted"
    if _looks_like_csv_header(head, src):
        return "csv"
    raise src.fail(
        "unknown format: not JSON, XML, CSV with a text column, or a copied comment page in a known "
        f"layout ({', '.join(pasted.PROFILES)}); name the format with --format"
    )


def _first_line_is_a_record(head: str) -> bool:
    """JSON Lines: the first line alone is a JSON object and more follows."""
    newline = head.find("\n")
    if newline < 0:
        return False
    try:
        return isinstance(json.loads(head[:newline]), dict) and bool(head[newline:].strip())
    except (ValueError, RecursionError):
        return False


def _jsonl_kind(head: str) -> str:
    from analyzer.parsers import pheme, reddit_dump

    line = head.split("\n", 1)[0]
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):
        return "jsonl"  # the parser reports the bad line
    if reddit_dump.kind_of_row(row) is not None:
        return "reddit-dump"
    return "pheme" if pheme.looks_like_structure_row(row) else "jsonl"


def _json_kind(src: Source) -> str:
    from analyzer.parsers import bluesky, discourse, hackernews, mastodon, reddit, twitter, youtube

    doc = src.json
    if reddit.looks_like(doc) or reddit.is_morechildren(doc):
        return "reddit"
    if discourse.looks_like(doc):
        return "discourse"
    if bluesky.looks_like(doc):
        return "bluesky"
    if mastodon.looks_like(doc):
        return "mastodon"
    if twitter.looks_like(doc):
        return "x"
    if hackernews.looks_like_nested(doc):
        return "hackernews"
    if youtube.looks_like(doc):
        return "youtube"
    if hackernews.looks_like_items(doc):
        return "hackernews"
    rows = doc if isinstance(doc, list) else [doc]
    if rows and isinstance(rows[0], dict):
        from analyzer.parsers.tabular import resolve_columns

        if "text" in resolve_columns(rows[0].keys(), {}, src):
            return "jsonl"
    raise src.fail(
        "JSON of an unknown shape: not Reddit, Hacker News, YouTube, Discourse, Bluesky, Mastodon, X, "
        "or records with a text field; "
        "name the format with --format"
    )


def _looks_like_csv_header(head: str, src: Source) -> bool:
    from analyzer.parsers.tabular import guess_delimiter, resolve_columns

    line = head.split("\n", 1)[0].rstrip("\r")
    if not line or len(line) > 2000:
        return False
    try:
        header = next(csv.reader([line], delimiter=guess_delimiter(line, src.name)))
    except (csv.Error, StopIteration):
        return False
    return "text" in resolve_columns(header, {}, src)
