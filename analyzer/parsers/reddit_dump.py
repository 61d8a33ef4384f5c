"""Reddit as data scientists hold it: Pushshift / Arctic Shift dumps, one JSON object a line
(``id``, ``parent_id`` as ``t1_``/``t3_``, ``link_id``, ``body``, ``author``, ``created_utc``),
often zstd-compressed (``.zst``, written with a long window) and holding many submissions.

Comments are grouped into one thread per ``link_id``; submissions (``RS_`` files, or
submission lines in the same file) become the threads' posts. A comments file's partner
(``RS_2006-01.zst`` beside ``RC_2006-01.zst``, ``x_submissions.zst`` beside
``x_comments.zst``) is read for the posts of the threads it holds.

Dumps are bigger than memory and sorted by time, so a thread's comments lie all over the
file. The file is streamed once into a temporary SQLite table (every line checked, so a bad
line is refused before any thread is handed out), then read back one thread at a time:
memory is bounded by the largest thread, not by the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from analyzer.parsers.base import (
    FLAG_AUTHOR_DELETED,
    FLAG_DELETED,
    FLAG_REMOVED,
    Context,
    Source,
    as_int,
    as_str,
    from_epoch,
)
from analyzer.parsers.dump_lines import head_of, rows
from analyzer.thread import Comment, Thread

_GONE = {"[deleted]": FLAG_DELETED, "[removed]": FLAG_REMOVED}
_BATCH = 20_000
_PARTNERS = (("RC_", "RS_", True), ("_comments", "_submissions", False), ("_comments", "_posts", False))
_POST_KEYS = ("title", "url", "subreddit", "permalink", "num_comments", "score")


# ---------------------------------------------------------------------- recognising a dump
def kind_of_row(row: Any) -> str | None:
    """'comment', 'submission' or None: Reddit's prefixed ids tell a dump line from other
    JSON Lines (a generic table may well have ``link_id`` and ``parent_id`` columns)."""
    if not isinstance(row, dict) or "id" not in row:
        return None
    link = row.get("link_id")
    parent = row.get("parent_id")
    if isinstance(link, str) and link.startswith("t3_") and isinstance(parent, str) and parent[:3] in ("t1_", "t3_"):
        return "comment"
    if (
        "title" in row
        and ("selftext" in row or "num_comments" in row)
        and "subreddit" in row
        and "parent_id" not in row
    ):
        return "submission"
    return None


def looks_like_head(head: bytes) -> bool:
    """The first line of these (decompressed) bytes is a dump line."""
    for line in head.split(b"\n")[:5]:
        if line.strip():
            try:
                return kind_of_row(json.loads(line)) is not None
            except (ValueError, RecursionError):
                return False
    return False


def is_dump_path(path: Path) -> bool:
    """A file to stream as a dump: a zstd file, or JSON Lines whose first line is a dump line."""
    if not path.is_file():
        return False
    head = head_of(path)
    return path.suffix.lower() == ".zst" or looks_like_head(head)


def _renamed(name: str, old: str, new: str, prefix: bool) -> str | None:
    """``name`` with its ``old`` part (a prefix, or the last occurrence) replaced by ``new``;
    None when it has no such part."""
    if prefix:
        return new + name[len(old) :] if name.startswith(old) else None
    i = name.rfind(old)
    return name[:i] + new + name[i + len(old) :] if i >= 0 else None


def submissions_partner(path: Path) -> Path | None:
    """The submissions file of a comments dump (``RS_x`` for ``RC_x``), when it exists."""
    for comments, submissions, prefix in _PARTNERS:
        other = _renamed(path.name, comments, submissions, prefix)
        if other is not None and path.with_name(other).is_file():
            return path.with_name(other)
    return None


def is_partner_of_present(path: Path, present: set[Path]) -> bool:
    """A submissions file whose comments file is also being read (it is merged in there)."""
    for comments, submissions, prefix in _PARTNERS:
        other = _renamed(path.name, submissions, comments, prefix)
        if other is not None and path.with_name(other).absolute() in present:
            return True
    return False


# ---------------------------------------------------------------------- fields
def _strip(fullname: str | None) -> str | None:
    if fullname and len(fullname) > 3 and fullname[0] == "t" and fullname[2] == "_":
        return fullname[3:]
    return fullname


def _epoch(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _extra_columns(row: dict[str, Any]) -> tuple[Any, ...]:
    """score, controversiality, edited, distinguished, stickied, subreddit: columns, not a
    JSON text, since encoding one per line would cost a fifth of the time."""
    distinguished = row.get("distinguished")
    subreddit = row.get("subreddit")
    return (
        as_int(row.get("score")),
        as_int(row.get("controversiality")) or None,
        1 if row.get("edited") not in (None, False, 0) else None,
        distinguished if isinstance(distinguished, str) else None,
        1 if row.get("stickied") is True else None,
        subreddit if isinstance(subreddit, str) else None,
    )


def _extra(score: Any, contro: Any, edited: Any, distinguished: Any, stickied: Any, subreddit: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if score is not None:
        extra["score"] = score
    if contro:
        extra["controversiality"] = contro
    if edited:
        extra["edited"] = True
    if distinguished is not None:
        extra["distinguished"] = distinguished
    if stickied:
        extra["stickied"] = True
    if subreddit is not None:
        extra["subreddit"] = subreddit
    return extra


def _post_data(row: dict[str, Any]) -> str:
    keep = {k: row[k] for k in _POST_KEYS if isinstance(row.get(k), (str, int, float)) and not isinstance(row[k], bool)}
    keep.update(
        author=as_str(row.get("author")), body=_text(row.get("selftext")), created=_epoch(row.get("created_utc"))
    )
    return json.dumps(keep, ensure_ascii=False)


def _make(cid: str, parent: str | None, author: str | None, created: float | None, body: str) -> Comment:
    flags: list[str] = []
    if body in _GONE:
        flags.append(_GONE[body])
        body = ""
    if author in _GONE:
        if not flags:
            flags.append(FLAG_AUTHOR_DELETED)
        author = None
    return Comment(
        id=cid,
        text=body,
        parent_id=parent,
        author=author,
        created_at=from_epoch(created) if created is not None else None,
        flags=flags,
    )


def _post(link: str, data: str) -> Comment:
    d = json.loads(data)
    post = _make(link, None, d.pop("author", None), d.pop("created", None), d.pop("body", ""))
    post.kind = "post"
    post.extra = {k: v for k, v in d.items() if v is not None}
    return post


# ---------------------------------------------------------------------- the two passes
_SCHEMA = """
CREATE TABLE c (link TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, parent TEXT,
                author TEXT, created REAL, body TEXT NOT NULL, score INTEGER, contro INTEGER,
                edited INTEGER, dist TEXT, sticky INTEGER, sub TEXT);
CREATE TABLE s (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, own INTEGER NOT NULL, data TEXT NOT NULL);
"""


def iter_threads(src: Source, ctx: Context, partner: Source | None = None) -> Iterator[Thread]:
    """The threads of a dump, one at a time, in the order their first line appears."""
    max_line = max(1 << 20, ctx.limits.max_comment_chars * 8)
    with _database(src) as db:
        db.executescript(_SCHEMA)
        comments = _load(db, src, max_line, own=True)
        if partner is not None:
            _load(db, partner, max_line, own=False, only_submissions=True)
        db.execute("CREATE INDEX c_link ON c (link, seq)")
        db.execute("CREATE TABLE t AS SELECT link, MIN(seq) AS first, COUNT(*) AS n FROM c GROUP BY link")
        db.execute("INSERT INTO t SELECT id, seq, 0 FROM s WHERE own = 1 AND id NOT IN (SELECT link FROM t)")
        limit = ctx.limits.max_comments_per_thread
        big = db.execute("SELECT link, n FROM t WHERE n > ? LIMIT 1", (limit,)).fetchone()
        if big is not None:
            from analyzer.limits import env_var

            raise src.fail(
                f"thread reddit:{big[0]} has {big[1]:,} comments, over the limit of {limit:,} "
                f"(raise it with {env_var('max_comments_per_thread')})"
            )
        if comments == 0 and db.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0:
            raise src.fail("no Reddit comments or submissions in this dump")
        for link, _n in _cursor(db):
            yield _thread(db, link, src)


def _cursor(db: sqlite3.Connection) -> Iterator[tuple[str, int]]:
    cur = db.cursor()
    cur.execute("SELECT link, n FROM t ORDER BY first")
    while True:
        rows = cur.fetchmany(1000)
        if not rows:
            return
        yield from rows


@contextlib.contextmanager
def _database(src: Source) -> Iterator[sqlite3.Connection]:
    """A scratch database: in memory for bytes already in memory, else a temporary file
    (deleted afterwards), with a small page cache, so that memory stays bounded."""
    path = None
    if src.path is not None and not src.data:
        fd, path = tempfile.mkstemp(prefix="analyzer-dump-", suffix=".sqlite")
        os.close(fd)
    db = sqlite3.connect(path or ":memory:", isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -32768")  # 32 MiB
        db.execute("PRAGMA temp_store = FILE")
        db.execute("BEGIN")
        yield db
    finally:
        db.close()
        if path is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _load(db: sqlite3.Connection, src: Source, max_line: int, *, own: bool, only_submissions: bool = False) -> int:
    """Every line into the scratch tables; the number of comment lines."""
    comments: list[tuple[Any, ...]] = []
    posts: list[tuple[Any, ...]] = []
    count = 0
    for number, row in rows(src, max_line):
        kind = kind_of_row(row)
        if kind == "comment" and not only_submissions:
            link = _strip(row["link_id"]) or ""
            cid = as_str(row.get("id")) or _strip(as_str(row.get("name"))) or f"line-{number}"
            parent = _strip(row["parent_id"])
            comments.append(
                (
                    link,
                    number,
                    cid,
                    None if parent == link else parent,
                    as_str(row.get("author")),
                    _epoch(row.get("created_utc")),
                    _text(row.get("body")),
                    *_extra_columns(row),
                )
            )
            count += 1
            if len(comments) >= _BATCH:
                db.executemany("INSERT INTO c VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", comments)
                comments.clear()
        elif kind == "submission":
            sid = as_str(row.get("id")) or _strip(as_str(row.get("name")))
            if sid is None:
                raise src.fail("a submission has no id", where=f"line {number}")
            posts.append((sid, number, int(own), _post_data(row)))
            if len(posts) >= _BATCH:
                db.executemany("INSERT OR IGNORE INTO s VALUES (?,?,?,?)", posts)
                posts.clear()
        elif kind is None:
            raise src.fail(
                "not a Reddit dump line (a comment has id, link_id 't3_…' and parent_id 't1_…'/'t3_…'; "
                "a submission id, title, subreddit)",
                where=f"line {number}",
            )
    if comments:
        db.executemany("INSERT INTO c VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", comments)
    if posts:
        db.executemany("INSERT OR IGNORE INTO s VALUES (?,?,?,?)", posts)
    return count


def _thread(db: sqlite3.Connection, link: str, src: Source) -> Thread:
    comments = []
    for cid, parent, author, created, body, *more in db.execute(
        "SELECT id, parent, author, created, body, score, contro, edited, dist, sticky, sub "
        "FROM c WHERE link = ? ORDER BY seq",
        (link,),
    ):
        c = _make(cid, parent, author, created, body)
        c.extra = _extra(*more)
        comments.append(c)
    row = db.execute("SELECT data FROM s WHERE id = ?", (link,)).fetchone()
    post = _post(link, row[0]) if row is not None else None
    extra: dict[str, Any] = {}
    if post is not None:
        title = post.extra.get("title")
        if isinstance(title, str):
            extra["title"] = title
        expected = as_int(post.extra.get("num_comments"))
        if expected is not None and expected > len(comments):
            extra["not_loaded"] = expected - len(comments)
    return Thread.build(f"reddit:{link}", comments, post, source=src.name, format="reddit-dump", extra=extra)


def parse(src: Source, ctx: Context) -> list[Thread]:
    """All threads at once (for bytes in memory; files go through ``iter_threads``)."""
    return list(iter_threads(src, ctx))
