"""The thread data model: a post (optional) and its comments, linked by ``parent_id``.

Kept deliberately small (after ConvoKit's Conversation/Utterance): parsers build
``Comment`` objects, ``Thread.build`` links them into a tree, repairs what can be
repaired (and records it), and every traversal is iterative so that reply chains
hundreds of thousands deep never hit Python's recursion limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from analyzer.text import without_lone_surrogates

Kind = Literal["post", "comment"]
Order = Literal["preorder", "bfs", "postorder"]

# Flags a comment may carry after ``Thread.build`` repaired the tree around it.
FLAG_ORPHAN = "orphan_reattached"
FLAG_CYCLE = "cycle_broken"


@dataclass
class Comment:
    """One post or comment. ``created_precision`` says how coarse ``created_at`` is
    ("second", "minute", "hour", "day", "week", "month", "year"), e.g. a '4 months ago'."""

    id: str
    text: str
    parent_id: str | None = None
    author: str | None = None
    author_inferred: bool = False
    created_at: datetime | None = None
    created_precision: str | None = None
    kind: Kind = "comment"
    depth: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    def to_record(self, thread_id: str) -> dict[str, Any]:
        """The JSON-ready record that ``analyzer parse`` writes."""
        extra = dict(self.extra)
        if self.created_precision and self.created_at is not None:
            extra.setdefault("created_precision", self.created_precision)
        if self.flags:
            extra.setdefault("flags", list(self.flags))
        return {
            "thread_id": thread_id,
            "id": self.id,
            "kind": self.kind,
            "parent_id": self.parent_id,
            "depth": self.depth,
            "author": self.author,
            "author_inferred": self.author_inferred,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "text": self.text,
            "extra": extra,
        }


@dataclass(frozen=True)
class Repair:
    """Something ``Thread.build`` changed to make a valid tree, with the ids involved."""

    kind: str  # "orphan_reattached" | "duplicate_dropped" | "cycle_broken"
    ids: tuple[str, ...]
    message: str


class Thread:
    """A reply tree. Build it with ``Thread.build``; the constructor only stores parts."""

    def __init__(
        self,
        id: str,
        post: Comment | None,
        comments: list[Comment],
        *,
        source: str | None = None,
        format: str | None = None,
        repairs: list[Repair] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.id = id
        self.post = post
        self.comments = comments
        self.source = source
        self.format = format
        self.repairs = repairs or []
        self.extra = extra or {}
        self._children: dict[str | None, list[Comment]] = {}
        self._by_id: dict[str, Comment] = {}
        self._index()

    # ------------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        id: str,
        comments: list[Comment],
        post: Comment | None = None,
        *,
        source: str | None = None,
        format: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Thread:
        """Link comments into a tree: drop duplicate ids, re-attach orphans to the
        root, break cycles, and set depths. Every change is recorded in ``repairs``
        and flagged on the comment, so nothing is silently wrong."""
        repairs: list[Repair] = []
        id = _storable(id)
        _make_storable(comments, post)
        root_id = post.id if post is not None else None
        if post is not None:
            post.kind, post.parent_id, post.depth = "post", None, 0
        unique, seen = _drop_duplicates(comments, post, repairs)
        _link_parents(unique, seen, root_id, repairs)
        _break_cycles(unique, root_id, repairs)
        thread = cls(id, post, unique, source=source, format=format, repairs=repairs, extra=extra)
        thread._set_depths()
        return thread

    def _index(self) -> None:
        self._by_id = {c.id: c for c in self.comments}
        if self.post is not None:
            self._by_id[self.post.id] = self.post
        children: dict[str | None, list[Comment]] = {}
        for c in self.comments:
            children.setdefault(c.parent_id, []).append(c)
        self._children = children

    def _set_depths(self) -> None:
        """Depth of every comment below the root (top level: 1), breadth first: a queue,
        not recursion, so reply chains of any depth get one."""
        root_key = self.post.id if self.post is not None else None
        queue: deque[tuple[str | None, int]] = deque([(root_key, 1)])
        while queue:
            key, depth = queue.popleft()
            for c in self._children.get(key, ()):
                c.depth = depth
                queue.append((c.id, depth + 1))

    # ------------------------------------------------------------------ access
    @property
    def root_key(self) -> str | None:
        """The parent id that top-level comments carry (the post's id, or None)."""
        return self.post.id if self.post is not None else None

    def __len__(self) -> int:
        return len(self.comments)

    def __contains__(self, comment_id: object) -> bool:
        return comment_id in self._by_id

    def get(self, comment_id: str) -> Comment:
        return self._by_id[comment_id]

    def children(self, comment_id: str | None) -> list[Comment]:
        """Direct replies to ``comment_id`` (None or the post id: the top-level comments)."""
        if comment_id is None:
            comment_id = self.root_key
        return list(self._children.get(comment_id, ()))

    def parent(self, comment_id: str) -> Comment | None:
        pid = self._by_id[comment_id].parent_id
        return self._by_id.get(pid) if pid is not None else None

    def ancestors(self, comment_id: str) -> list[Comment]:
        """From the comment's parent up to the top (post included when there is one)."""
        out: list[Comment] = []
        node = self.parent(comment_id)
        while node is not None:
            out.append(node)
            node = self.parent(node.id) if node.kind == "comment" else None
        return out

    # ------------------------------------------------------------------ traversal
    def traverse(
        self, order: Order = "preorder", *, start: str | None = None, include_post: bool = True
    ) -> Iterator[Comment]:
        """Iterate the tree (or the sub-tree under ``start``, inclusive) without recursion."""
        if start is None:
            roots: list[Comment] = [self.post] if (self.post is not None and include_post) else self.children(None)
        else:
            roots = [self._by_id[start]]
        if order == "bfs":
            queue = deque(roots)
            while queue:
                node = queue.popleft()
                yield node
                queue.extend(self._children.get(node.id, ()))
        elif order == "preorder":
            stack = list(reversed(roots))
            while stack:
                node = stack.pop()
                yield node
                stack.extend(reversed(self._children.get(node.id, ())))
        elif order == "postorder":
            stack2: list[tuple[Comment, bool]] = [(r, False) for r in reversed(roots)]
            while stack2:
                node, expanded = stack2.pop()
                if expanded:
                    yield node
                else:
                    stack2.append((node, True))
                    stack2.extend((k, False) for k in reversed(self._children.get(node.id, ())))
        else:
            raise ValueError(f"unknown traversal order {order!r}; use preorder, bfs or postorder")

    def paths(self) -> Iterator[list[Comment]]:
        """Every root-to-leaf path of comments (the post excluded), iteratively."""
        stack: list[tuple[Comment, int]] = [(c, 0) for c in reversed(self.children(None))]
        path: list[Comment] = []
        while stack:
            node, level = stack.pop()
            del path[level:]
            path.append(node)
            kids = self._children.get(node.id, ())
            if not kids:
                yield list(path)
            else:
                stack.extend((k, level + 1) for k in reversed(kids))

    def subtree_sizes(self) -> dict[str, int]:
        """Number of comments in each comment's sub-tree (itself included)."""
        sizes: dict[str, int] = {}
        for node in self.traverse("postorder", include_post=False):
            sizes[node.id] = 1 + sum(sizes[k.id] for k in self._children.get(node.id, ()))
        return sizes

    @property
    def max_depth(self) -> int:
        return max((c.depth for c in self.comments), default=0)

    def parent_texts(self) -> dict[str, str]:
        """{comment id: the text a context model reads it with}: a reply's parent's text, a
        top-level comment's post (``post_context``). Comments with neither are left out. The
        one home of this rule: the scorer (on records), the store and the service use it."""
        post = self.post
        title = post.extra.get("title") if post is not None and isinstance(post.extra, dict) else None
        post_text = post_context(title, post.text) if post is not None else None
        out: dict[str, str] = {}
        for c in self.traverse("preorder", include_post=False):
            parent = self.parent(c.id)
            if parent is not None and parent.kind == "comment":
                out[c.id] = parent.text or ""
            elif post_text is not None:
                out[c.id] = post_text
        return out

    def records(self) -> Iterator[dict[str, Any]]:
        """Parse records in pre-order: the post first (when there is one)."""
        for node in self.traverse("preorder"):
            yield node.to_record(self.id)


def post_context(title: object, text: str | None) -> str | None:
    """What a top-level comment is read with: the post's title and text, one per line
    (None when the post has neither)."""
    return "\n".join(x for x in (str(title) if title else "", text or "") if x) or None


# ---------------------------------------------------------------------- the steps of Thread.build
# Each step appends what it changed to ``repairs`` (in the order build runs them), so the
# record reads in the order the tree was mended.
def _make_storable(comments: list[Comment], post: Comment | None) -> None:
    """Every id and parent id in storable form, before duplicates are looked for."""
    for c in comments:
        c.id = _storable(c.id)
        if c.parent_id is not None:
            c.parent_id = _storable(c.parent_id)
    if post is not None:
        post.id = _storable(post.id)


def _drop_duplicates(
    comments: list[Comment], post: Comment | None, repairs: list[Repair]
) -> tuple[list[Comment], set[str]]:
    """(the comments whose id is not used before them, every id kept): the first of a
    duplicate id wins, the post's id included."""
    unique: list[Comment] = []
    seen: set[str] = set() if post is None else {post.id}
    dropped: list[str] = []
    for c in comments:
        if c.id in seen:
            dropped.append(c.id)
            continue
        seen.add(c.id)
        c.kind = "comment"
        unique.append(c)
    if dropped:
        repairs.append(
            Repair(
                "duplicate_dropped",
                tuple(dict.fromkeys(dropped)),
                f"{len(dropped)} comment(s) with an id already used were dropped (kept the first): {_preview(dropped)}",
            )
        )
    return unique, seen


def _link_parents(unique: list[Comment], seen: set[str], root_id: str | None, repairs: list[Repair]) -> None:
    """Point top-level comments at the root; attach self-replies and orphans (a parent
    that is not in the thread) to it, keeping the missing parent's id in ``extra``."""
    orphans: list[str] = []
    for c in unique:
        if c.parent_id == c.id:
            c.flags.append(FLAG_CYCLE)
            repairs.append(Repair(FLAG_CYCLE, (c.id,), f"comment {c.id} replied to itself; attached to the root"))
            c.parent_id = root_id
        elif c.parent_id is None or c.parent_id == root_id:
            c.parent_id = root_id
        elif c.parent_id not in seen:
            orphans.append(c.id)
            c.extra.setdefault("missing_parent_id", c.parent_id)
            c.flags.append(FLAG_ORPHAN)
            c.parent_id = root_id
    if orphans:
        repairs.append(
            Repair(
                FLAG_ORPHAN,
                tuple(orphans),
                f"{len(orphans)} repl(y/ies) whose parent is missing were attached to the root: {_preview(orphans)}",
            )
        )


def _break_cycles(unique: list[Comment], root_id: str | None, repairs: list[Repair]) -> None:
    """Walk parent links iteratively; any comment not reaching the root lies on (or hangs
    below) a cycle. Break each cycle at its first member by attaching it to the root."""
    by_id = {c.id: c for c in unique}
    state: dict[str, int] = {}  # 1 = on current walk, 2 = reaches root
    for start in unique:
        if state.get(start.id) == 2:
            continue
        walk: list[Comment] = []
        node: Comment | None = start
        while node is not None and state.get(node.id) is None:
            state[node.id] = 1
            walk.append(node)
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
        if node is not None and state.get(node.id) == 1:
            # node is on the current walk: the cycle is walk[index(node):]
            i = next(k for k, w in enumerate(walk) if w is node)
            cycle = [w.id for w in walk[i:]]
            node.extra.setdefault("cycle_parent_id", node.parent_id)
            node.parent_id = root_id
            node.flags.append(FLAG_CYCLE)
            repairs.append(
                Repair(
                    FLAG_CYCLE,
                    tuple(cycle),
                    f"reply cycle among {_preview(cycle)}; {node.id} attached to the root",
                )
            )
        for w in walk:
            state[w.id] = 2


def _storable(ident: str) -> str:
    """An id with lone surrogates (half characters, which JSON can escape) as U+FFFD, before
    duplicates are looked for: ids must survive being written as UTF-8 and stored, and two
    ids that differ only there would otherwise collide in the store."""
    return without_lone_surrogates(ident)


def _preview(ids: list[str], n: int = 5) -> str:
    shown = ", ".join(ids[:n])
    return shown + (f" and {len(ids) - n} more" if len(ids) > n else "")
