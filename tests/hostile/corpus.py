"""A corpus of hostile comment inputs, generated on demand (nothing large is committed).

Comments are written by strangers and files arrive broken, so the analyzer is tested on:

- **markup and Unicode tricks** (``MARKUP``): script and event-handler HTML, Markdown links
  and images, Streamlit's own Markdown directives, bidirectional overrides, zero-width and
  combining characters, terminal escapes, NUL and lone surrogates — written in every
  comment format (``write_markup_corpus``), where the format can carry them;
- **broken bytes** (``broken_cases``): NUL bytes, invalid UTF-8 (early, late, overlong,
  encoded surrogates, cut sequences), XML entity tricks, each with the error it must give
  (a NUL past the first 64 KiB of a CSV is text, not a sign of a binary file: it is kept);
- **broken trees** (``cycles_jsonl``, ``duplicates_jsonl``, ``hn_items_with_cycle``): id cycles,
  self-replies and duplicate ids, which must be repaired and reported;
- **size**: a 10 MB comment (``huge_comment_jsonl``), a reply chain 100,000 deep in CSV, JSON
  Lines, Hacker News nested JSON and Reddit JSON (``deep_chain_*``), and 1,000,000 siblings
  (``write_siblings_jsonl``), streamed to disk.

Nested JSON is assembled as text, never with ``json.dumps`` of a nested object: that would hit
Python's recursion limit long before 100,000 levels.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# ---------------------------------------------------------------------- hostile texts
MARKUP: dict[str, str] = {
    "script": "<script>window.__pwned = 'script'; alert('xss')</script>",
    "img_onerror": "<img src=x onerror=\"window.__pwned='img'\">",
    "svg_onload": "<svg onload=\"window.__pwned='svg'\"><circle r=9 /></svg>",
    "iframe_js": "<iframe src=\"javascript:window.__pwned='iframe'\"></iframe>",
    "attr_breakout": '" onmouseover="window.__pwned=\'attr\'" x="',
    "style": "<style>body{display:none}</style>still visible",
    "comment_close": "--><script>window.__pwned='comment'</script><!--",
    "md_link": "[click me](javascript:window.__pwned='mdlink')",
    "md_image": "![tracker](http://127.0.0.1:9/pixel.png)",
    "md_autolink": "<http://127.0.0.1:9/x> and <javascript:alert(1)>",
    "md_html_block": "<details open><summary>sum</summary><b>bold</b></details>",
    "md_heading_table": "# HEADING\n\n| a | b |\n|---|---|\n| 1 | 2 |",
    "md_emphasis": "**bold** _italic_ `code` ~~struck~~ > quote",
    "streamlit_directives": ":red[red text] :material/warning: $\\LaTeX$ :smile: :blue-background[x]",
    "entities": "&lt;script&gt;window.__pwned='entity'&lt;/script&gt; &amp;amp;",
    "bidi": "\u202egnp.exe\u202c safe.txt \u2066isolate\u2069 \u200fRLM \u061c",
    "zero_width": "ad\u200bmin\u200c pass\u200dword\ufeff \u2060joined",
    "ansi": "\x1b[31mred\x1b[0m \x1b]8;;http://127.0.0.1:9\x07link\x1b]8;;\x07 \x9b2J",
    "combining": "Z\u0351\u0300\u0301\u0489" * 40,
    "controls": "bell\x07 back\x08 form\x0c vtab\x0b del\x7f",
    "nul": "before\x00after",
    "lone_surrogate": "half \ud83d of a pair",
    "sql": "'); DROP TABLE comments; --",
    "template": "{{7*7}} ${7*7} <%= 7*7 %> {% raw %}",
}
"""Name -> hostile comment text. Each must come out of the pipeline as the same text,
shown literally, never interpreted."""

# Texts a UTF-8 text file cannot carry as raw characters (JSON escapes them).
NEEDS_JSON_ESCAPE = frozenset({"nul", "lone_surrogate"})

HOSTILE_AUTHOR = "<img src=x onerror=\"window.__pwned='author'\">**admin**"
HOSTILE_THREAD = "<b>thread</b>[x](javascript:1)"
PWNED_MARKER = "__pwned"


def markup_rows(thread: str = HOSTILE_THREAD, *, escapable_only: bool = False) -> list[dict[str, str | None]]:
    """One row per hostile text, as a reply chain (each replies to the previous), by a
    hostile author; ``escapable_only`` drops the texts that need JSON escapes."""
    rows: list[dict[str, str | None]] = []
    previous: str | None = None
    for name, text in MARKUP.items():
        if escapable_only and name in NEEDS_JSON_ESCAPE:
            continue
        rows.append(
            {"id": name, "parent_id": previous, "conversation_id": thread, "author": HOSTILE_AUTHOR, "text": text}
        )
        previous = name if len(rows) % 3 else None  # a few chains, not one
    return rows


def jsonl_bytes(rows: Iterable[dict[str, object]]) -> bytes:
    """JSON Lines, ASCII-escaped (so NULs and lone surrogates survive as escapes)."""
    return "".join(json.dumps(r, ensure_ascii=True) + "\n" for r in rows).encode("ascii")


def csv_bytes(rows: Iterable[dict[str, object]]) -> bytes:
    rows = list(rows)
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def hn_nested_bytes(texts: dict[str, str]) -> bytes:
    """A Hacker News (HNPWA) story whose comments carry the texts HTML-escaped, as HN does."""
    comments = [
        {
            "id": i + 1,
            "level": 0,
            "user": HOSTILE_AUTHOR,
            "time": 1_600_000_000 + i,
            "content": "<p>" + html.escape(text),
            "comments": [],
        }
        for i, text in enumerate(texts.values())
    ]
    story = {
        "id": 99,
        "title": HOSTILE_THREAD,
        "points": 1,
        "user": HOSTILE_AUTHOR,
        "time": 1_600_000_000,
        "content": "<script>alert(1)</script><p>raw tags are dropped",
        "comments": comments,
    }
    return json.dumps(story, ensure_ascii=True).encode("ascii")


def reddit_bytes(texts: dict[str, str]) -> bytes:
    """A Reddit ``/comments/<id>/.json`` page whose comment bodies are the texts."""
    things = [
        {
            "kind": "t1",
            "data": {
                "id": f"c{i}",
                "parent_id": "t3_post",
                "link_id": "t3_post",
                "body": text,
                "author": HOSTILE_AUTHOR,
                "created_utc": 1_600_000_000 + i,
                "replies": "",
            },
        }
        for i, text in enumerate(texts.values())
    ]
    post = {
        "kind": "t3",
        "data": {
            "id": "post",
            "title": HOSTILE_THREAD,
            "selftext": MARKUP["md_link"],
            "author": HOSTILE_AUTHOR,
            "created_utc": 1_600_000_000,
        },
    }
    doc = [{"kind": "Listing", "data": {"children": [post]}}, {"kind": "Listing", "data": {"children": things}}]
    return json.dumps(doc, ensure_ascii=True).encode("ascii")


def youtube_bytes(texts: dict[str, str]) -> bytes:
    """A YouTube ``commentThreadListResponse``: top comments with the texts as ``textOriginal``."""
    items = []
    for i, text in enumerate(texts.values()):
        snippet = {
            "videoId": "vid",
            "authorDisplayName": HOSTILE_AUTHOR,
            "textOriginal": text,
            "textDisplay": html.escape(text),
            "publishedAt": "2024-01-01T00:00:00Z",
        }
        items.append(
            {
                "kind": "youtube#commentThread",
                "id": f"t{i}",
                "snippet": {
                    "videoId": "vid",
                    "topLevelComment": {"kind": "youtube#comment", "id": f"y{i}", "snippet": snippet},
                },
            }
        )
    return json.dumps({"kind": "youtube#commentThreadListResponse", "items": items}, ensure_ascii=True).encode("ascii")


def disqus_bytes(texts: dict[str, str]) -> bytes:
    """A Disqus export; messages are HTML (escaped text in CDATA, as Disqus writes it)."""
    posts = []
    for i, text in enumerate(texts.values()):
        body = html.escape(text).replace("]]>", "]]]]><![CDATA[>")
        posts.append(
            f'<post dsq:id="p{i}"><message><![CDATA[<p>{body}</p>]]></message>'
            f"<author><name>{html.escape(HOSTILE_AUTHOR)}</name></author>"
            f'<thread dsq:id="t1" /></post>'
        )
    doc = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">'
        f'<thread dsq:id="t1"><title>{html.escape(HOSTILE_THREAD)}</title></thread>' + "".join(posts) + "</disqus>"
    )
    return doc.encode("utf-8")


def pasted_bytes(texts: dict[str, str]) -> bytes:
    """A copied wpDiscuz comment page whose comments are the texts (one paragraph each)."""
    lines = [
        "News / Politics",
        "",
        HOSTILE_THREAD,
        "",
        "By Mallory",
        "",
        "An article body.",
        "",
        "Notify of",
        "Oldest Most Voted",
        "Inline Feedbacks",
        "View all comments",
    ]
    for text in texts.values():
        lines += ["Mallory", "2 days ago", "", " ".join(text.split()), ""]
    lines += ["Would love your thoughts, please comment.x"]
    return "\n".join(lines).encode("utf-8")


def single_line(text: str) -> bool:
    """Texts the line-based formats (the copied page) carry unchanged."""
    return (
        "\n" not in text
        and text == text.strip()
        and not any(ch in text for ch in "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
    )


_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_ok(text: str) -> bool:
    """Texts XML 1.0 can carry at all (no C0 controls but tab and newlines)."""
    return _XML_FORBIDDEN.search(text) is None


def write_markup_corpus(folder: Path) -> dict[str, tuple[Path, dict[str, str]]]:
    """The hostile texts in every format: format -> (file, {name: text} that file holds)."""
    folder.mkdir(parents=True, exist_ok=True)
    raw_ok = {k: v for k, v in MARKUP.items() if k not in NEEDS_JSON_ESCAPE}
    paste_ok = {k: v for k, v in raw_ok.items() if single_line(v) and "\x07" not in v and "\x08" not in v}
    xml_texts = {k: v for k, v in raw_ok.items() if xml_ok(v)}
    out: dict[str, tuple[Path, dict[str, str]]] = {}
    plan = {
        "jsonl": ("hostile.jsonl", jsonl_bytes(markup_rows()), MARKUP),
        "csv": ("hostile.csv", csv_bytes(markup_rows(HOSTILE_THREAD + " (csv)", escapable_only=True)), raw_ok),
        "hackernews": ("hostile_hn.json", hn_nested_bytes(raw_ok), raw_ok),
        "reddit": ("hostile_reddit.json", reddit_bytes(MARKUP), MARKUP),
        "youtube": ("hostile_youtube.json", youtube_bytes(MARKUP), MARKUP),
        "disqus": ("hostile_disqus.xml", disqus_bytes(xml_texts), xml_texts),
        "pasted": ("hostile_page.txt", pasted_bytes(paste_ok), paste_ok),
    }
    for fmt, (name, data, texts) in plan.items():
        path = folder / name
        path.write_bytes(data)
        out[fmt] = (path, texts)
    return out


# ---------------------------------------------------------------------- broken trees
def cycles_jsonl() -> bytes:
    """A three-comment cycle (a→b→c→a), a self-reply, a chain hanging off the cycle, and a
    reply to a comment that does not exist."""
    rows = [
        {"id": "root", "parent_id": None, "text": "fine"},
        {"id": "a", "parent_id": "c", "text": "cycle a"},
        {"id": "b", "parent_id": "a", "text": "cycle b"},
        {"id": "c", "parent_id": "b", "text": "cycle c"},
        {"id": "self", "parent_id": "self", "text": "replies to itself"},
        {"id": "hang", "parent_id": "b", "text": "hangs below the cycle"},
        {"id": "orphan", "parent_id": "ghost", "text": "parent never existed"},
    ]
    return jsonl_bytes({**r, "conversation_id": "cycles"} for r in rows)


def duplicates_jsonl() -> bytes:
    """The same id three times with different texts, and a reply to the duplicated id."""
    rows = [
        {"id": "dup", "parent_id": None, "text": "first dup"},
        {"id": "x", "parent_id": "dup", "text": "reply to dup"},
        {"id": "dup", "parent_id": None, "text": "second dup"},
        {"id": "dup", "parent_id": "x", "text": "third dup, would make a cycle"},
    ]
    return jsonl_bytes({**r, "conversation_id": "dups"} for r in rows)


def hn_items_with_cycle() -> bytes:
    """Official Hacker News API items whose ``parent`` links form a loop with no story."""
    items = [
        {"id": 1, "type": "comment", "by": "u1", "parent": 3, "text": "one", "kids": [2]},
        {"id": 2, "type": "comment", "by": "u2", "parent": 1, "text": "two", "kids": [3]},
        {"id": 3, "type": "comment", "by": "u3", "parent": 2, "text": "three", "kids": [1]},
        {"id": 3, "type": "comment", "by": "dup", "parent": 2, "text": "duplicate item"},
    ]
    return json.dumps(items).encode()


# ---------------------------------------------------------------------- broken bytes
@dataclass(frozen=True)
class BrokenCase:
    """Bytes that must be refused with an error matching ``error`` (a regex)."""

    name: str
    filename: str
    data: bytes
    error: str


def _jsonl_padding(lines: int) -> bytes:
    """Valid JSON Lines long enough to push what follows past the first 64 KiB."""
    return b"".join(b'{"id": "p%d", "text": "padding line %d"}\n' % (i, i) for i in range(lines))


def broken_cases() -> list[BrokenCase]:
    pad = _jsonl_padding(2000)  # ~80 kB
    return [
        BrokenCase("nul_at_start", "nul.jsonl", b'{"id": "a", "text": "x\x00y"}\n', r"binary file.*NUL"),
        BrokenCase(
            "nul_in_json_after_64k",
            "late_nul.jsonl",
            pad + b'{"id": "z", "text": "x\x00y"}\n',
            r"line 2001.*invalid JSON|invalid JSON.*line 2001|line 2001",
        ),
        BrokenCase("only_nuls", "zeros.dat", b"\x00" * 4096, r"binary file"),
        BrokenCase("bad_byte_early", "latin1.csv", b"id,text\n1,caf\xe9\n", r"line 2.*not UTF-8|not UTF-8.*line 2"),
        BrokenCase(
            "bad_byte_after_64k",
            "late.jsonl",
            pad + b'{"id": "z", "text": "caf\xe9"}\n',
            r"line 2001.*not UTF-8|not UTF-8.*line 2001|line 2001",
        ),
        BrokenCase("overlong_slash", "overlong.csv", b"id,text\n1,\xc0\xaf etc/passwd\n", r"not UTF-8"),
        BrokenCase("encoded_surrogate", "surrogate.csv", b"id,text\n1,\xed\xa0\x80\n", r"not UTF-8"),
        BrokenCase("cut_sequence_at_end", "cut.csv", b"id,text\n1,end \xe2\x82", r"not UTF-8"),
        BrokenCase("utf16_odd_length", "odd.csv", b"\xff\xfei\x00d\x00,\x00t\x00e\x00x\x00t\x00\n", r"not UTF-16"),
        BrokenCase("png_header", "image.json", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, r"binary file"),
        BrokenCase("empty", "empty.jsonl", b"", r"empty"),
        BrokenCase("whitespace_only", "blank.csv", b" \n\t\r\n", r"empty"),
        BrokenCase(
            "billion_laughs",
            "laughs.xml",
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b"<disqus>&lol2;</disqus>",
            r"DTD",
        ),
        BrokenCase(
            "external_entity",
            "xxe.xml",
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><disqus>&x;</disqus>',
            r"DTD",
        ),
    ]


# ---------------------------------------------------------------------- size
def huge_comment_jsonl(size: int = 10_000_000) -> bytes:
    """One thread of three comments, the middle one ``size`` characters long."""
    body = ("you idiot, " * (size // 11 + 1))[:size]
    return jsonl_bytes(
        [
            {"id": "before", "conversation_id": "wall", "text": "a normal comment"},
            {"id": "huge", "conversation_id": "wall", "parent_id": "before", "text": body},
            {"id": "after", "conversation_id": "wall", "parent_id": "huge", "text": "a reply to the wall of text"},
        ]
    )


PHRASES = ("fair point", "you idiot", "no, you are wrong", "thanks, great reply", "go away", "I hate this")


def deep_chain_rows(n: int, thread: str = "deep") -> Iterator[dict[str, str | None]]:
    """A reply chain ``n`` deep: comment i replies to comment i-1. Texts repeat a few
    phrases, so scoring (which scores each distinct text once) costs little: the chain
    tests depth, not model throughput."""
    for i in range(n):
        yield {
            "id": f"c{i}",
            "parent_id": f"c{i - 1}" if i else None,
            "conversation_id": thread,
            "author": f"user{i % 7}",
            "text": PHRASES[(i * 7 // 5) % len(PHRASES)],
        }


def deep_chain_jsonl(n: int) -> bytes:
    return jsonl_bytes(deep_chain_rows(n))


def deep_chain_csv(n: int) -> bytes:
    return csv_bytes(deep_chain_rows(n))


def deep_chain_hn_nested(n: int) -> bytes:
    """A Hacker News (HNPWA) story whose comments nest ``n`` deep: 2n levels of JSON. The
    bodies hold an entity but no tags, so the test times depth, not the HTML parser."""
    parts: list[str] = ['{"id": 1, "title": "deep", "points": 1, "user": "op", "time": 1600000000, "comments": [']
    for i in range(n):
        parts.append(
            '{"id": %d, "level": %d, "user": "u%d", "time": %d, "content": "reply %d &amp; on", "comments": ['  # noqa: UP031  JSON braces read better with %
            % (i + 2, i, i % 7, 1_600_000_000 + i, i)
        )
    parts.append("]}" * n)
    parts.append("]}")
    return "".join(parts).encode("ascii")


def deep_chain_reddit(n: int) -> bytes:
    """A Reddit comments page whose replies nest ``n`` deep (five JSON levels each)."""
    head = (
        '[{"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {"id": "deep", "title": "deep", '
        '"selftext": "", "author": "op", "created_utc": 1600000000}}]}}, {"kind": "Listing", "data": {"children": ['
    )
    parts = [head]
    for i in range(n):
        parts.append(
            '{"kind": "t1", "data": {"id": "r%d", "link_id": "t3_deep", "body": "reply %d", '  # noqa: UP031  JSON braces read better with %
            '"author": "u%d", "created_utc": %d, "replies": {"kind": "Listing", "data": {"children": ['
            % (i, i, i % 7, 1_600_000_000 + i)
        )
    parts.append("]}}}}" * n)
    parts.append("]}}]")
    return "".join(parts).encode("ascii")


def write_siblings_jsonl(path: Path, n: int) -> Path:
    """A post and ``n`` top-level replies to it (all siblings), streamed to ``path``; texts
    repeat a few phrases (see ``deep_chain_rows``)."""
    with path.open("w", encoding="ascii") as f:
        f.write(json.dumps({"id": "wide", "conversation_id": "wide", "text": "the post everyone answers"}) + "\n")
        block: list[str] = []
        for i in range(n):
            block.append(
                '{"id": "s%d", "conversation_id": "wide", "parent_id": "wide", "author": "u%d", '  # noqa: UP031  JSON braces read better with %
                '"text": "%s"}\n' % (i, i % 1000, PHRASES[i % len(PHRASES)])
            )
            if len(block) == 10_000:
                f.write("".join(block))
                block.clear()
        f.write("".join(block))
    return path
