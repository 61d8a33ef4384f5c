"""Generic tables of comments: CSV/TSV, JSON Lines, or a JSON array of flat objects.

Columns are found by role (id, parent, thread, author, time, text) under common names
(``reply_to``, ``parent_id``, ``conversation_id``, ``body``, ...), or named explicitly
(``columns={"text": "message"}``). Only a text column is required: without ids and parents
the rows become one flat thread. A row whose id equals its thread id is the thread's post
(a conversation's source tweet, say). JSON Lines is read a line at a time, for big files.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from analyzer.parsers.base import Context, Source, TimeParser, as_str, load_json
from analyzer.thread import Comment, Thread

ROLES = ("id", "parent", "thread", "author", "time", "text")

DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "comment_id", "utterance_id", "message_id", "tweet_id", "id_str", "post_id", "uid"),
    "parent": (
        "reply_to",
        "parent_id",
        "parent",
        "in_reply_to",
        "in_reply_to_id",
        "in_reply_to_status_id_str",
        "reply_to_id",
        "parent_comment_id",
        "replied_to",
    ),
    "thread": (
        "conversation_id",
        "thread_id",
        "conversation",
        "thread",
        "link_id",
        "root_id",
        "submission_id",
        "discussion_id",
        "story_id",
        "video_id",
        "article_id",
    ),
    "author": ("author", "speaker", "user", "username", "user_name", "screen_name", "by", "author_name", "user_id"),
    "time": (
        "created_at",
        "timestamp",
        "time",
        "created_utc",
        "created",
        "date",
        "datetime",
        "published_at",
        "posted_at",
        "published",
        "time_created",
    ),
    "text": (
        "text",
        "body",
        "content",
        "comment",
        "message",
        "comment_text",
        "text_original",
        "tweet",
        "utterance",
        "selftext",
        "full_text",
    ),
}

_NA = {"", "null", "None", "NaN", "nan", "NA", "N/A"}


def _norm(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def resolve_columns(keys: Iterable[str], overrides: Mapping[str, str], src: Source) -> dict[str, str]:
    """Role → the column that holds it, from explicit names first, then the defaults."""
    keys = list(keys)
    by_norm: dict[str, str] = {}
    for k in keys:
        if isinstance(k, str):
            by_norm.setdefault(_norm(k), k)
    found: dict[str, str] = {}
    for role, name in overrides.items():
        if role not in ROLES:
            raise src.fail(f"unknown column role {role!r}; roles are {', '.join(ROLES)}")
        key = name if name in keys else by_norm.get(_norm(name))
        if key is None:
            shown = ", ".join(str(k) for k in keys[:20])
            raise src.fail(f"no column {name!r} (given for {role}); the columns are: {shown}")
        found[role] = key
    taken = set(found.values())
    for role in ROLES:
        if role in found:
            continue
        for candidate in DEFAULT_COLUMNS[role]:
            key = by_norm.get(candidate)
            if key is not None and key not in taken:
                found[role] = key
                taken.add(key)
                break
    return found


def _no_text_column(keys: list[str], src: Source, where: str | None = None) -> Exception:
    shown = ", ".join(str(k) for k in keys[:20]) or "none"
    return src.fail(
        f"no text column (looked for {', '.join(DEFAULT_COLUMNS['text'][:6])}, ...; the columns are: {shown}); "
        "name it with --column text=NAME",
        where=where,
    )


def _id(value: Any) -> str | None:
    if value.__class__ is str:
        return None if value in _NA else value
    return as_str(value)


def _author(value: Any) -> str | None:
    if isinstance(value, dict):  # a Twitter-style user object
        for key in ("screen_name", "username", "name", "id_str"):
            if isinstance(value.get(key), str) and value[key]:
                return value[key]
        return None
    return _id(value)


def _text(value: Any) -> str:
    if value.__class__ is str:
        return value
    if value is None:
        return ""
    return (
        value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False)
        if isinstance(value, (dict, list))
        else str(value)
    )


class _Collector:
    """Turns rows into comments grouped by thread, then threads."""

    def __init__(self, src: Source, ctx: Context, fmt: str) -> None:
        self.src = src
        self.fmt = fmt
        self.times = TimeParser(ctx.now)
        self.groups: dict[str, list[Comment]] = {}
        self.posts: dict[str, Comment] = {}
        self.default_thread = src.stem

    def add(
        self,
        row_no: int,
        rid: str | None,
        parent: str | None,
        thread: str | None,
        author: str | None,
        when: Any,
        text: str,
        extra: dict[str, Any],
    ) -> None:
        created, precision = self.times(when) if when is not None else (None, None)
        if created is None and when not in (None, ""):
            extra["created_raw"] = when
        tid = thread if thread is not None else self.default_thread
        comment = Comment(
            id=rid if rid is not None else str(row_no),
            text=text,
            parent_id=parent,
            author=author,
            created_at=created,
            created_precision=precision,
            extra=extra,
        )
        if rid is not None and rid == thread and tid not in self.posts:
            comment.kind = "post"
            self.posts[tid] = comment
            self.groups.setdefault(tid, [])
            return
        group = self.groups.get(tid)
        if group is None:
            group = self.groups[tid] = []
        group.append(comment)

    def threads(self) -> list[Thread]:
        out = []
        for tid, comments in self.groups.items():
            post = self.posts.get(tid)
            if post is None:
                for c in comments:
                    if c.parent_id == tid:  # replies to a post the table does not contain
                        c.parent_id = None
            out.append(Thread.build(tid, comments, post, source=self.src.name, format=self.fmt))
        return out


# ---------------------------------------------------------------------- JSON Lines
def json_rows(src: Source) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line, a line at a time (never the whole
    file as text). Uses the JSON scanner directly: a million lines cost seconds less."""
    src.check_text()
    data = src.data if src.encoding == "utf-8" else src.text.encode("utf-8")
    scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # set in __init__, not in the stubs
    for n, line in enumerate(io.BytesIO(data), 1):
        if n == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[3:]
        try:
            s = line.decode("utf-8")
        except UnicodeDecodeError:
            raise src.fail("not UTF-8 text; save it as UTF-8", where=f"line {n}") from None
        if s[:1] != "{":
            s = s.strip()
            if not s:
                continue
        try:
            row, end = scan(s, 0)
        except StopIteration:
            raise src.fail("invalid JSON: expecting a value", where=f"line {n}") from None
        except RecursionError:
            raise src.fail("JSON nested too deeply to read", where=f"line {n}") from None
        except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise src.fail(f"invalid JSON: {msg}", where=f"line {n}") from None
        if end != len(s) and s[end:].strip():
            raise src.fail("invalid JSON: extra data after the object", where=f"line {n}")
        if row.__class__ is not dict:
            raise src.fail(f"expected a JSON object, found {type(row).__name__}", where=f"line {n}")
        yield n, row


def _object_rows(doc: list[Any], src: Source) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, row in enumerate(doc):
        if not isinstance(row, dict):
            raise src.fail(f"expected a JSON object, found {type(row).__name__}", where=f"item {i}")
        yield i + 1, row


def parse_jsonl(src: Source, ctx: Context) -> list[Thread]:
    """JSON Lines, or a JSON array of objects when the whole file is one JSON document."""
    head = src.data.lstrip()[:1]
    if head == b"[":
        doc = load_json(src.text, src)
        if not isinstance(doc, list):
            raise src.fail("expected JSON Lines or a JSON array of objects")
        rows: Iterator[tuple[int, dict[str, Any]]] = _object_rows(doc, src)
        where_word = "item"
    else:
        rows = json_rows(src)
        where_word = "line"
    out = _Collector(src, ctx, "jsonl")
    id_k = parent_k = thread_k = author_k = time_k = None
    text_k = ""  # set with the others from the first row's keys
    used: frozenset[str] = frozenset()
    last_sig: tuple[str, ...] | None = None
    resolved: dict[tuple[str, ...], dict[str, str]] = {}
    count = 0
    for n, row in rows:
        count += 1
        sig = tuple(row)
        if sig != last_sig:  # rows may differ in their keys; resolve once per key set
            cols = resolved.get(sig) or resolve_columns(sig, ctx.columns, src)
            if "text" not in cols:
                raise _no_text_column(list(sig), src, where=f"{where_word} {n}")
            if len(resolved) < 1000:
                resolved[sig] = cols
            id_k, parent_k, thread_k = cols.get("id"), cols.get("parent"), cols.get("thread")
            author_k, time_k, text_k = cols.get("author"), cols.get("time"), cols["text"]
            used = frozenset(cols.values())
            last_sig = sig
        get = row.get
        extra = {k: v for k, v in row.items() if k not in used} if len(row) > len(used) else {}
        out.add(
            count,
            _id(get(id_k)) if id_k else None,
            _id(get(parent_k)) if parent_k else None,
            _id(get(thread_k)) if thread_k else None,
            _author(get(author_k)) if author_k else None,
            get(time_k) if time_k else None,
            _text(get(text_k)),
            extra,
        )
    if count == 0:
        raise src.fail("no rows")
    return out.threads()


# ---------------------------------------------------------------------- CSV
def _lines(text: str) -> Iterator[str]:
    """Lines with their endings, split on '\\n' only (as csv needs), without a copy of the text."""
    start, n = 0, len(text)
    find = text.find
    while start < n:
        end = find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def guess_delimiter(header: str, name: str) -> str:
    """Tab for .tsv files, else whichever of , tab ; | the header line uses most."""
    if name.lower().endswith((".tsv", ".tab")):
        return "\t"
    counts = {d: header.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_csv(src: Source, ctx: Context) -> list[Thread]:
    text = src.text
    first = text[: text.find("\n")] if "\n" in text else text
    limit = max(ctx.limits.max_file_bytes, 131072)
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)  # a long comment is data, not an error (it is truncated later)
    reader = csv.reader(_lines(text), delimiter=guess_delimiter(first, src.name))
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise src.fail("no header row", where="line 1")
        cols = resolve_columns(header, ctx.columns, src)
        if "text" not in cols:
            if len(header) == 1:
                cols["text"] = header[0]
            else:
                raise _no_text_column(header, src, where="line 1")
        index = {role: header.index(key) for role, key in cols.items()}
        used = set(index.values())
        others = [(i, h) for i, h in enumerate(header) if i not in used and h.strip()]
        out = _Collector(src, ctx, "csv")
        text_i = index["text"]
        id_i, parent_i, thread_i = index.get("id"), index.get("parent"), index.get("thread")
        author_i, time_i = index.get("author"), index.get("time")
        count = 0
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip() and len(header) > 1):
                continue
            count += 1
            width = len(row)

            def cell(i: int | None, row: list[str] = row, width: int = width) -> str | None:
                return _id(row[i]) if i is not None and i < width else None

            extra = {h: row[i] for i, h in others if i < width and row[i] != ""}
            out.add(
                count,
                cell(id_i),
                cell(parent_i),
                cell(thread_i),
                cell(author_i),
                row[time_i] if time_i is not None and time_i < width else None,
                row[text_i] if text_i < width else "",
                extra,
            )
    except csv.Error as exc:
        raise src.fail(f"invalid CSV: {exc}", where=f"line {reader.line_num}") from None
    if count == 0:
        raise src.fail("no rows under the header")
    return out.threads()
