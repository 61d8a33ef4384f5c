"""Disqus XML exports: ``<thread dsq:id>`` elements (the pages) and ``<post dsq:id>``
elements (the comments) pointing at them, replies with ``<parent dsq:id>``.

Read with expat directly and streamed: no tree is built beyond one element at a time, and
any DTD is refused, so entity tricks (billion laughs, external entities) cannot work — the
export format never has one. Deleted and spam posts are kept and flagged."""

from __future__ import annotations

from typing import Any
from xml.parsers import expat

from analyzer.parsers.base import FLAG_DELETED, FLAG_SPAM, Context, Source, TimeParser, html_to_text
from analyzer.thread import Comment, Thread

_NS_SEP = "|"


def looks_like(text_head: str) -> bool:
    """A Disqus export announces itself in its first kilobytes."""
    return "<disqus" in text_head or "disqus.com" in text_head


def _local(name: str) -> str:
    return name.rsplit(_NS_SEP, 1)[-1]


def _dsq_id(attrs: dict[str, str]) -> str | None:
    for key, value in attrs.items():
        if _local(key) == "id":
            return value.strip() or None
    return None


class _Reader:
    """expat callbacks collecting each ``<thread>``/``<post>`` as a flat dict of its fields
    ('author.name', 'parent', ...)."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.parser = expat.ParserCreate(namespace_separator=_NS_SEP)
        self.parser.StartDoctypeDeclHandler = self._refuse_dtd
        self.parser.EntityDeclHandler = self._refuse_entity
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._data
        self.parser.buffer_text = True
        self.depth = 0
        self.record: dict[str, Any] | None = None
        self.path: list[str] = []
        self.buf: list[str] = []
        self.threads: list[dict[str, Any]] = []
        self.posts: list[dict[str, Any]] = []

    def where(self) -> str:
        return f"line {self.parser.CurrentLineNumber}"

    def _refuse_dtd(self, *args: Any) -> None:
        raise self.src.fail("XML with a DTD is refused (Disqus exports have none)", where=self.where())

    def _refuse_entity(self, *args: Any) -> None:
        raise self.src.fail("XML entity declarations are refused", where=self.where())

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        local = _local(name)
        if self.depth == 1:
            if local != "disqus":
                raise self.src.fail(
                    f"not a Disqus export: the root element is <{local}>, not <disqus>", where=self.where()
                )
        elif self.depth == 2:
            if local in ("thread", "post"):
                self.record = {"_kind": local, "_line": self.parser.CurrentLineNumber, "_id": _dsq_id(attrs)}
        elif self.record is not None and self.depth <= 4:
            self.path.append(local)
            self.buf = []
            ref = _dsq_id(attrs)
            if ref is not None and self.depth == 3:
                self.record[local + "@id"] = ref

    def _data(self, data: str) -> None:
        if self.record is not None and 3 <= self.depth <= 4:
            self.buf.append(data)

    def _end(self, name: str) -> None:
        if self.record is not None:
            if self.depth == 2:
                (self.threads if self.record["_kind"] == "thread" else self.posts).append(self.record)
                self.record = None
            elif self.depth <= 4 and self.path:
                key = ".".join(self.path)
                text = "".join(self.buf)
                if text.strip() or key not in self.record:
                    self.record[key] = text
                self.path.pop()
                self.buf = []
        self.depth -= 1

    def read(self) -> None:
        try:
            self.parser.Parse(self.src.data, True)
        except expat.ExpatError as exc:
            raise self.src.fail(
                f"invalid XML: {expat.ErrorString(exc.code)}", where=f"line {exc.lineno} column {exc.offset + 1}"
            ) from None
        except (LookupError, ValueError) as exc:  # an XML declaration naming an unknown encoding
            raise self.src.fail(f"invalid XML: {exc}", where=self.where()) from None


def _true(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == "true"


def parse(src: Source, ctx: Context) -> list[Thread]:
    src.check_not_empty()
    reader = _Reader(src)
    reader.read()
    if reader.depth != 0:
        raise src.fail("the XML ends before its root element is closed")
    times = TimeParser(ctx.now)

    meta: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for t in reader.threads:
        tid = t["_id"] or f"line{t['_line']}"
        if tid not in meta:
            meta[tid] = t
            order.append(tid)

    groups: dict[str, list[Comment]] = {}
    for p in reader.posts:
        tid = (p.get("thread@id") or "").strip() or "unknown"
        if tid not in meta and tid not in groups:
            order.append(tid)
        groups.setdefault(tid, []).append(_post(p, times))

    threads = []
    for tid in order:
        comments = groups.get(tid)
        if not comments:
            continue  # a page nobody commented on
        page = meta.get(tid)
        post = _page(tid, page, times) if page is not None else None
        extra = {"title": post.extra.get("title")} if post is not None else {"missing_thread_element": True}
        threads.append(Thread.build(f"disqus:{tid}", comments, post, source=src.name, format="disqus", extra=extra))
    return threads


def _name(record: dict[str, Any]) -> str | None:
    name = (record.get("author.name") or "").strip()
    return name or None


def _post(p: dict[str, Any], times: TimeParser) -> Comment:
    created, _ = times(p.get("createdAt"))
    comment = Comment(
        id=p["_id"] or f"line{p['_line']}",
        text=html_to_text(p.get("message")),
        parent_id=(p.get("parent@id") or "").strip() or None,
        author=_name(p),
        created_at=created,
        extra={"line": p["_line"]},
    )
    username = (p.get("author.username") or "").strip()
    if username:
        comment.extra["author_username"] = username
    if _true(p.get("author.isAnonymous")):
        comment.extra["anonymous"] = True
    if _true(p.get("isDeleted")):
        comment.flags.append(FLAG_DELETED)
    if _true(p.get("isSpam")):
        comment.flags.append(FLAG_SPAM)
    return comment


def _page(tid: str, t: dict[str, Any], times: TimeParser) -> Comment:
    created, _ = times(t.get("createdAt"))
    extra: dict[str, Any] = {}
    for key, out in (("title", "title"), ("link", "link"), ("id", "page_id")):
        value = (t.get(key) or "").strip()
        if value:
            extra[out] = value
    if _true(t.get("isClosed")):
        extra["closed"] = True
    page = Comment(
        id=tid, text=html_to_text(t.get("message")), author=_name(t), created_at=created, kind="post", extra=extra
    )
    if _true(t.get("isDeleted")):
        page.flags.append(FLAG_DELETED)
    return page
