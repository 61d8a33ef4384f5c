"""Scopes in SQL: "the comment's thread is in this scope", with the meaning
``analyzer.rules.in_scope`` gives a scope in Python (``thread:``, ``community:``,
``source:GLOB``, ``format:``, ``prefix:``; an entry without a kind is a ``prefix:``), and
the scope entries a store can offer (its formats, communities and sources), so that a
reviewer picks a scope instead of guessing how it is spelled."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, literal, or_, select

from analyzer.rules import COMMUNITY_THREAD, ScopeEntry, parse_scope
from analyzer.store import schema as t

if TYPE_CHECKING:
    from analyzer.store.database import Database

MAX_CHOICES = 200  # per kind: a picker, not a listing


def glob_like(glob: str) -> str | None:
    """``fnmatch``'s ``*`` and ``?`` as a LIKE pattern (escape ``\\``), or None for a glob
    with a character class, which LIKE cannot say."""
    if "[" in glob:
        return None
    out = []
    for ch in glob:
        out.append("%" if ch == "*" else "_" if ch == "?" else "\\" + ch if ch in "%_\\" else ch)
    return "".join(out)


def _entry_filter(conn: Connection, e: ScopeEntry) -> Any:
    th = t.threads.c
    if e.kind == "thread":
        return th.id == e.value
    if e.kind == "community":
        return th.id == COMMUNITY_THREAD + e.value
    if e.kind == "format":
        return func.lower(th.format) == e.value.lower()
    if e.kind == "source":
        like = glob_like(e.value)
        if like is not None:
            return th.source.like(like, escape="\\")
        ids = [r.id for r in conn.execute(select(th.id, th.source)) if r.source and e.matches(r.id, r.source, None)]
        return th.id.in_(ids)
    return or_(*(func.substr(col, 1, len(e.value)) == e.value for col in (th.id, th.source, th.format)))


def scope_filter(conn: Connection, scope: str | None) -> Any | None:
    """SQL (over ``threads``) for "the thread is in ``scope``", or None for every thread."""
    entries = parse_scope(scope or "")
    if not entries:
        return None
    return or_(*(_entry_filter(conn, e) for e in entries))


def scope_choices(conn: Connection) -> list[str]:
    """The scope entries this store's threads fall into: ``format:``, ``community:`` and
    ``source:`` values (at most ``MAX_CHOICES`` of each), formats first."""
    th = t.threads.c
    formats = conn.execute(
        select(th.format).where(th.format.is_not(None)).distinct().order_by(th.format).limit(MAX_CHOICES)
    )
    communities = conn.execute(
        select(func.substr(th.id, len(COMMUNITY_THREAD) + 1))
        .where(func.substr(th.id, 1, len(COMMUNITY_THREAD)) == literal(COMMUNITY_THREAD))
        .order_by(th.id)
        .limit(MAX_CHOICES)
    )
    sources = conn.execute(
        select(th.source).where(th.source.is_not(None)).distinct().order_by(th.source).limit(MAX_CHOICES)
    )
    return (
        [f"format:{r[0]}" for r in formats if r[0]]
        + [f"community:{r[0]}" for r in communities if r[0]]
        + [f"source:{_literal_glob(r[0])}" for r in sources if r[0]]
    )


def _literal_glob(text: str) -> str:
    """A glob matching exactly ``text`` (its ``*``, ``?`` and ``[`` in brackets)."""
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in text)


def offered_scopes(store: Database) -> list[str]:
    """``scope_choices`` in one read snapshot."""
    with store.read() as conn:
        return scope_choices(conn)
