"""The thread model: linking, repairs, iterative traversal (100,000 deep), round trips."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.thread import FLAG_CYCLE, FLAG_ORPHAN, Comment, Thread


def _tree(post: bool = True) -> Thread:
    """post ─ a ─ b ─ d
       └ c
    └ e"""
    comments = [
        Comment("a", "A"),
        Comment("b", "B", parent_id="a"),
        Comment("c", "C", parent_id="a"),
        Comment("d", "D", parent_id="b"),
        Comment("e", "E", parent_id="P" if post else None),
    ]
    return Thread.build("t", comments, Comment("P", "post") if post else None)


def ids(nodes) -> list[str]:
    return [n.id for n in nodes]


def test_links_and_depths() -> None:
    t = _tree()
    assert t.post is not None and t.post.kind == "post" and t.post.depth == 0
    assert {c.id: c.depth for c in t.comments} == {"a": 1, "b": 2, "c": 2, "d": 3, "e": 1}
    assert {c.id: c.parent_id for c in t.comments} == {"a": "P", "b": "a", "c": "a", "d": "b", "e": "P"}
    assert ids(t.children(None)) == ["a", "e"] == ids(t.children("P"))
    assert t.parent("d").id == "b"
    assert ids(t.ancestors("d")) == ["b", "a", "P"]
    assert t.max_depth == 3 and len(t) == 5 and "d" in t and "zz" not in t
    assert t.repairs == []


def test_traversal_orders() -> None:
    t = _tree()
    assert ids(t.traverse("preorder")) == ["P", "a", "b", "d", "c", "e"]
    assert ids(t.traverse("bfs")) == ["P", "a", "e", "b", "c", "d"]
    assert ids(t.traverse("postorder")) == ["d", "b", "c", "a", "e", "P"]
    assert ids(t.traverse("preorder", include_post=False)) == ["a", "b", "d", "c", "e"]
    assert ids(t.traverse("preorder", start="b")) == ["b", "d"]
    assert [ids(p) for p in t.paths()] == [["a", "b", "d"], ["a", "c"], ["e"]]
    assert t.subtree_sizes() == {"a": 4, "b": 2, "c": 1, "d": 1, "e": 1}


def test_without_post_top_level_parent_is_none() -> None:
    t = _tree(post=False)
    assert t.post is None
    assert ids(t.traverse("preorder")) == ["a", "b", "d", "c", "e"]
    assert [c.parent_id for c in t.children(None)] == [None, None]
    assert ids(t.ancestors("d")) == ["b", "a"]


def test_records_preorder_fields() -> None:
    when = datetime(2022, 1, 10, tzinfo=timezone.utc)
    t = Thread.build(
        "t",
        [Comment("a", "hi", created_at=when, created_precision="month", author="x", extra={"score": 3})],
        Comment("P", "post"),
    )
    recs = list(t.records())
    assert [r["id"] for r in recs] == ["P", "a"]
    assert recs[0] == {
        "thread_id": "t",
        "id": "P",
        "kind": "post",
        "parent_id": None,
        "depth": 0,
        "author": None,
        "author_inferred": False,
        "created_at": None,
        "text": "post",
        "extra": {},
    }
    assert recs[1]["parent_id"] == "P" and recs[1]["depth"] == 1
    assert recs[1]["created_at"] == "2022-01-10T00:00:00+00:00"
    assert recs[1]["extra"] == {"score": 3, "created_precision": "month"}


def test_deep_chain_is_iterative() -> None:
    n = 100_000
    comments = [Comment(f"c{i}", "x", parent_id=f"c{i - 1}" if i else None) for i in range(n)]
    t = Thread.build("deep", comments, Comment("root", "post"))
    assert t.max_depth == n and t.get(f"c{n - 1}").depth == n
    for order in ("preorder", "bfs", "postorder"):
        assert sum(1 for _ in t.traverse(order)) == n + 1
    assert next(iter(t.traverse("postorder"))).id == f"c{n - 1}"
    (path,) = list(t.paths())
    assert len(path) == n
    assert len(t.ancestors(f"c{n - 1}")) == n  # c0..c(n-2) plus the post
    assert t.subtree_sizes()["c0"] == n
    assert sum(1 for _ in t.records()) == n + 1


def test_deep_cycle_is_broken_iteratively() -> None:
    n = 50_000
    comments = [Comment(f"c{i}", "x", parent_id=f"c{(i - 1) % n}") for i in range(n)]
    t = Thread.build("ring", comments)
    assert [r.kind for r in t.repairs] == [FLAG_CYCLE]
    assert len(t.repairs[0].ids) == n
    assert sum(1 for _ in t.traverse()) == n and t.max_depth == n


def test_orphans_are_reattached_and_flagged() -> None:
    t = Thread.build("t", [Comment("a", "A"), Comment("b", "B", parent_id="gone")], Comment("P", "post"))
    b = t.get("b")
    assert b.parent_id == "P" and b.depth == 1 and FLAG_ORPHAN in b.flags
    assert b.extra["missing_parent_id"] == "gone"
    assert [(r.kind, r.ids) for r in t.repairs] == [(FLAG_ORPHAN, ("b",))]
    assert b.to_record("t")["extra"]["flags"] == [FLAG_ORPHAN]


def test_duplicates_dropped_first_kept() -> None:
    t = Thread.build("t", [Comment("a", "first"), Comment("a", "second"), Comment("P", "clash")], Comment("P", "post"))
    assert [c.text for c in t.comments] == ["first"]
    (repair,) = t.repairs
    assert repair.kind == "duplicate_dropped" and repair.ids == ("a", "P")


def test_cycles_broken_with_ids_reported() -> None:
    comments = [
        Comment("s", "self", parent_id="s"),
        Comment("x", "X", parent_id="y"),
        Comment("y", "Y", parent_id="x"),
        Comment("z", "below the cycle", parent_id="y"),
    ]
    t = Thread.build("t", comments)
    kinds = [(r.kind, set(r.ids)) for r in t.repairs]
    assert (FLAG_CYCLE, {"s"}) in kinds and (FLAG_CYCLE, {"x", "y"}) in kinds
    assert all(c.depth >= 1 for c in t.comments)
    assert sum(1 for _ in t.traverse()) == 4
    assert t.get("z").depth == t.get("y").depth + 1


# ---------------------------------------------------------------------- properties
@st.composite
def valid_trees(draw: st.DrawFn) -> tuple[list[int | None], bool]:
    n = draw(st.integers(0, 60))
    parents: list[int | None] = []
    for i in range(n):
        parents.append(draw(st.one_of(st.none(), st.integers(0, i - 1))) if i else None)
    return parents, draw(st.booleans())


def _comments(parents: list[int | None], order: list[int], post: bool) -> list[Comment]:
    root = "P" if post else None
    return [
        Comment(f"c{i}", f"text {i}", parent_id=f"c{parents[i]}" if parents[i] is not None else root) for i in order
    ]


@settings(max_examples=150, deadline=None)
@given(valid_trees(), st.randoms())
def test_random_trees_round_trip(tree: tuple[list[int | None], bool], rnd) -> None:
    parents, with_post = tree
    order = list(range(len(parents)))
    rnd.shuffle(order)  # input order must not matter for the links
    t = Thread.build("t", _comments(parents, order, with_post), Comment("P", "p") if with_post else None)
    assert t.repairs == []
    root = "P" if with_post else None
    assert {c.id: c.parent_id for c in t.comments} == {
        f"c{i}": (f"c{p}" if p is not None else root) for i, p in enumerate(parents)
    }
    # depth = 1 + number of comment ancestors
    for i, p in enumerate(parents):
        d, q = 1, p
        while q is not None:
            d, q = d + 1, parents[q]
        assert t.get(f"c{i}").depth == d

    # records → comments → build again: same tree, same records
    recs = list(t.records())
    post_rec = [r for r in recs if r["kind"] == "post"]
    rebuilt = Thread.build(
        "t",
        [Comment(r["id"], r["text"], parent_id=r["parent_id"]) for r in recs if r["kind"] == "comment"],
        Comment(post_rec[0]["id"], post_rec[0]["text"]) if post_rec else None,
    )
    assert list(rebuilt.records()) == recs
    assert len(recs) == len(parents) + (1 if with_post else 0)
    # pre-order: every comment comes after its parent
    seen: set[str | None] = {root}
    for r in recs:
        assert r["parent_id"] in seen or r["kind"] == "post"
        seen.add(r["id"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.one_of(st.none(), st.integers(-3, 33))), max_size=40), st.booleans())
def test_any_links_become_a_valid_tree(links: list[tuple[int, int | None]], with_post: bool) -> None:
    """Duplicates, dangling parents, self-loops and cycles: always a tree, never silently."""
    comments = [Comment(f"c{i}", "x", parent_id=f"c{p}" if p is not None else None) for i, p in links]
    t = Thread.build("t", comments, Comment("P", "p") if with_post else None)
    unique_ids = list(dict.fromkeys(f"c{i}" for i, _ in links))
    assert [c.id for c in t.comments] == unique_ids
    visited = [c.id for c in t.traverse("preorder", include_post=False)]
    assert sorted(visited) == sorted(unique_ids)  # every comment reachable exactly once
    for c in t.comments:
        parent = t.parent(c.id)
        assert c.depth == (parent.depth + 1 if parent is not None else 1)
    repaired = {i for r in t.repairs if r.kind in (FLAG_ORPHAN, FLAG_CYCLE) for i in r.ids}
    flagged = {c.id for c in t.comments if c.flags}
    assert flagged <= repaired
    if len(unique_ids) < len(links):
        assert any(r.kind == "duplicate_dropped" for r in t.repairs)
