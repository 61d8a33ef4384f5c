"""A comment section copied from a web page as plain text (select all, copy, paste).

Each comment system lays its page out differently, so the layout rules are data: a
``LayoutProfile`` of whole-line regexes and boilerplate markers. Supporting another system
(Disqus, Reddit, YouTube, Hacker News as seen in a browser) means adding a profile to
``PROFILES``; the reading and author-inference logic stays the same.

Copies lose things: many author names are missing, and a reply only says 'Reply to NAME'.
When NAME has not been seen yet, the nearest earlier comment whose author is still unknown
must be NAME's: it gets NAME (marked inferred) and the reply is attached there. A reply to
a known name attaches to that author's nearest earlier comment; a comment without a
'Reply to' line is top-level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from analyzer.parsers.base import FLAG_REPLY_TARGET_UNKNOWN, Context, Source, TimeParser, tidy
from analyzer.thread import Comment, Thread

# Regexes run on single trimmed lines; longer lines are never headers, and skipping them
# keeps hostile input (a megabyte on one line) linear.
_MAX_HEADER_CHARS = 300


@dataclass(frozen=True)
class LayoutProfile:
    """How one comment system's page reads once copied as text. Every pattern must match a
    whole trimmed line (``re.fullmatch``, case-insensitive)."""

    name: str
    description: str
    markers: tuple[str, ...]
    """Lines typical of this layout; auto-detection needs ``min_markers`` of them."""
    min_markers: int
    time_line: str
    """The line that starts a comment, e.g. '4 months ago'; group ``when`` is the time."""
    reply_line: str
    """The line after the time naming the comment replied to; group ``name``."""
    section_start: tuple[str, ...]
    """Controls above the comments ('Notify of', 'View all comments'): comments start after them."""
    section_end: tuple[str, ...]
    """Where the comment section stops (a closing prompt); the rest is page footer."""
    article_end: tuple[str, ...]
    """First lines of boilerplate after the article (newsletter, donation blocks)."""
    drop_lines: tuple[str, ...]
    """Boilerplate lines dropped wherever they appear."""
    byline: str
    """The article's byline; group ``author``."""
    breadcrumb: str
    """A breadcrumb line above the title, e.g. 'News / Politics'."""
    author_max_chars: int = 60
    """An author line is short; longer lines before a time line are text, not names."""

    @cached_property
    def compiled(self) -> _Compiled:
        return _Compiled(self)


class _Compiled:
    """A profile's patterns compiled once."""

    def __init__(self, p: LayoutProfile) -> None:
        flags = re.IGNORECASE
        self.markers = [re.compile(m, flags) for m in p.markers]
        self.time_line = re.compile(p.time_line, flags)
        self.reply_line = re.compile(p.reply_line, flags)
        self.section_start = [re.compile(m, flags) for m in p.section_start]
        self.section_end = [re.compile(m, flags) for m in p.section_end]
        self.article_end = [re.compile(m, flags) for m in p.article_end]
        self.drop_lines = [re.compile(m, flags) for m in p.drop_lines]
        self.byline = re.compile(p.byline, flags)
        self.breadcrumb = re.compile(p.breadcrumb, flags)


_RELATIVE = r"(?P<when>(?:\d{1,4}|an?|one)\s+(?:second|minute|hour|day|week|month|year)s?\s+ago|just now|yesterday)"

WPDISCUZ = LayoutProfile(
    name="wpdiscuz",
    description="WordPress sites with wpDiscuz comments (e.g. news sites): 'Notify of', "
    "'Oldest Most Voted', relative times, 'Reply to NAME'",
    markers=(
        r"Notify of",
        r"(?:Oldest|Newest|Most Voted)(?:\s+(?:Oldest|Newest|Most Voted))*",
        r"Inline Feedbacks",
        r"View all comments",
        r"Would love your thoughts, please comment\.?\s*x?",
        r"Load More Comments?",
    ),
    min_markers=2,
    time_line=_RELATIVE,
    reply_line=r"Reply to\s+(?P<name>\S.{0,79})",
    section_start=(
        r"Notify of",
        r"(?:Oldest|Newest|Most Voted)(?:\s+(?:Oldest|Newest|Most Voted))*",
        r"Inline Feedbacks",
        r"View all comments",
    ),
    section_end=(r"Would love your thoughts, please comment\.?\s*x?", r"Load More Comments?"),
    article_end=(
        r"We hope you(?:'|’)ve enjoyed this article\b.*",
        r"If You Enjoy Articles Like This\b.*",
        r"Donate Now",
        r"Sign Up Today\b.*",
        r".{0,40}\bSubscribe to (?:the |our )?.{0,60}Newsletter\b.*",
    ),
    drop_lines=(r"Would love your thoughts, please comment\.?\s*x?", r"\d+\s+Comments?", r"Log in to Reply"),
    byline=r"(?:.{0,80}?\s)?By\s+(?P<author>[^,|/]{2,60}?)\s*",
    breadcrumb=r"[^/]{1,40}(?:\s/\s[^/]{1,40})+",
)

PROFILES: dict[str, LayoutProfile] = {WPDISCUZ.name: WPDISCUZ}


def _fullmatch(patterns: list[re.Pattern[str]], line: str) -> bool:
    return len(line) <= _MAX_HEADER_CHARS and any(p.fullmatch(line) for p in patterns)


def detect_profile(text: str) -> LayoutProfile | None:
    """The profile whose markers the page shows most (at least its ``min_markers``, and at
    least one comment time line), or None."""
    lines = [ln.strip() for ln in text.splitlines()]
    short = [ln for ln in lines if ln and len(ln) <= _MAX_HEADER_CHARS]
    best: tuple[int, LayoutProfile] | None = None
    for profile in PROFILES.values():
        c = profile.compiled
        score = sum(1 for m in c.markers if any(m.fullmatch(ln) for ln in short))
        if score < profile.min_markers or not any(c.time_line.fullmatch(ln) for ln in short):
            continue
        if best is None or score > best[0]:
            best = (score, profile)
    return best[1] if best else None


@dataclass
class _Raw:
    """A comment as read off the page, before authors are inferred and parents set."""

    line: int  # 0-based index of its time line
    when: str
    author: str | None
    reply_to: str | None
    text: str


def parse(src: Source, ctx: Context, profile: LayoutProfile | None = None) -> list[Thread]:
    """Read a copied page with the given (or the detected) profile into one thread."""
    text = src.text
    if profile is None:
        profile = detect_profile(text) or _only_profile_with_comments(text)
        if profile is None:
            known = ", ".join(PROFILES)
            raise src.fail(f"no comment layout recognised in this text (known layouts: {known})")
    c = profile.compiled
    lines = [ln.replace("\u00a0", " ").strip() for ln in text.splitlines()]

    # The comment section starts after the block of controls above it ('Notify of', ...);
    # a page without them starts at the first comment's header. A time line above the
    # controls belongs to the article.
    first_control = next((i for i, ln in enumerate(lines) if _fullmatch(c.section_start, ln)), None)
    if first_control is not None:
        start = first_control
        while start < len(lines) and (not lines[start] or _fullmatch(c.section_start, lines[start])):
            start += 1
    else:
        first_time = next((i for i, ln in enumerate(lines) if _fullmatch([c.time_line], ln)), None)
        if first_time is None:
            raise src.fail(f"no comments found: no time line such as '4 months ago' ({profile.name} layout)")
        author_above = first_time > 0 and _is_author_line(lines, first_time - 1, 0, profile)
        start = first_time - 1 if author_above else first_time
    end = next((i for i in range(start, len(lines)) if _fullmatch(c.section_end, lines[i])), len(lines))

    article_stop = first_control if first_control is not None else start
    for i in range(article_stop):
        if _fullmatch(c.article_end, lines[i]):
            article_stop = i
            break
    post = _article(lines[:article_stop], profile, TimeParser(ctx.now))

    raws = _read_comments(lines, start, end, profile)
    comments = _link(raws, ctx)
    thread_extra = {"layout_profile": profile.name}
    if post is not None and post.extra.get("title"):
        thread_extra["title"] = post.extra["title"]
    return [Thread.build(src.stem, comments, post, source=src.name, format="pasted", extra=thread_extra)]


def _only_profile_with_comments(text: str) -> LayoutProfile | None:
    """Forced ``--format pasted`` without markers: the single profile if it finds times."""
    if len(PROFILES) != 1:
        return None
    profile = next(iter(PROFILES.values()))
    found = any(_fullmatch([profile.compiled.time_line], ln.strip()) for ln in text.splitlines())
    return profile if found else None


def _is_author_line(lines: list[str], j: int, start: int, profile: LayoutProfile) -> bool:
    """The line right above a time line is its author when it is short, not itself a
    header, and stands alone (a blank line or the section start above it)."""
    c = profile.compiled
    line = lines[j]
    if not line or len(line) > profile.author_max_chars:
        return False
    if c.time_line.fullmatch(line) or c.reply_line.fullmatch(line) or _fullmatch(c.drop_lines, line):
        return False
    return j == start or not lines[j - 1]


def _read_comments(lines: list[str], start: int, end: int, profile: LayoutProfile) -> list[_Raw]:
    c = profile.compiled
    heads: list[tuple[int, int, str, str | None, str | None]] = []  # (header start, time line, when, author, reply)
    for i in range(start, end):
        m = c.time_line.fullmatch(lines[i]) if len(lines[i]) <= _MAX_HEADER_CHARS else None
        if m is None:
            continue
        author = lines[i - 1] if i - 1 >= start and _is_author_line(lines, i - 1, start, profile) else None
        reply = None
        if i + 1 < end and len(lines[i + 1]) <= _MAX_HEADER_CHARS:
            r = c.reply_line.fullmatch(lines[i + 1])
            reply = " ".join(r["name"].split()) if r else None
        heads.append((i - 1 if author else i, i, m["when"], author, reply))

    raws: list[_Raw] = []
    for k, (_, i, when, author, reply) in enumerate(heads):
        body_start = i + (2 if reply else 1)
        body_end = heads[k + 1][0] if k + 1 < len(heads) else end
        body = [ln for ln in lines[body_start:body_end] if not _fullmatch(c.drop_lines, ln)]
        raws.append(_Raw(line=i, when=when, author=author, reply_to=reply, text=tidy("\n".join(body))))
    return raws


def _link(raws: list[_Raw], ctx: Context) -> list[Comment]:
    """Set authors (inferring missing ones from 'Reply to' lines) and parents."""
    times = TimeParser(ctx.now)
    authors: list[str | None] = [r.author for r in raws]
    inferred = [False] * len(raws)
    parents: list[int | None] = [None] * len(raws)
    unknown_target = [False] * len(raws)
    by_name: dict[str, list[int]] = {}  # name -> indexes of its comments, ascending

    for k, raw in enumerate(raws):
        if raw.reply_to:
            key = raw.reply_to.casefold()
            if key in by_name:
                parents[k] = by_name[key][-1]
            else:
                j = next((j for j in range(k - 1, -1, -1) if authors[j] is None), None)
                if j is None:
                    unknown_target[k] = True
                else:
                    authors[j], inferred[j] = raw.reply_to, True
                    by_name[key] = [j]
                    parents[k] = j
        if raw.author:
            by_name.setdefault(raw.author.casefold(), []).append(k)

    comments: list[Comment] = []
    for k, raw in enumerate(raws):
        created, precision = times(raw.when)
        parent = parents[k]
        extra: dict[str, object] = {"line": raw.line + 1, "relative_time": raw.when}
        if raw.reply_to:
            extra["reply_to_name"] = raw.reply_to
        comment = Comment(
            id=f"c{k + 1}",
            text=raw.text,
            parent_id=f"c{parent + 1}" if parent is not None else None,
            author=authors[k],
            author_inferred=inferred[k],
            created_at=created,
            created_precision=precision,
            extra=extra,
        )
        if unknown_target[k]:
            comment.flags.append(FLAG_REPLY_TARGET_UNKNOWN)
        comments.append(comment)
    return comments


def _article(lines: list[str], profile: LayoutProfile, times: TimeParser) -> Comment | None:
    """The article above the comments: breadcrumb, title, byline (and a time line, when the
    page shows one), then body paragraphs."""
    c = profile.compiled
    paragraphs = tidy("\n".join(lines)).split("\n\n")
    paragraphs = [p for p in paragraphs if p.strip()]
    if not paragraphs:
        return None
    extra: dict[str, object] = {}
    created = precision = None
    head = min(len(paragraphs), 4)  # a time line among the first paragraphs dates the article
    for k in range(head):
        if _fullmatch([c.time_line], paragraphs[k]):
            extra["relative_time"] = paragraphs.pop(k)
            created, precision = times(extra["relative_time"])
            break
    if len(paragraphs) >= 3 and "\n" not in paragraphs[0] and _fullmatch([c.breadcrumb], paragraphs[0]):
        extra["breadcrumb"] = paragraphs.pop(0)
    author = None
    if len(paragraphs) >= 2 and "\n" not in paragraphs[0] and len(paragraphs[0]) <= _MAX_HEADER_CHARS:
        extra["title"] = paragraphs.pop(0)
        if paragraphs and "\n" not in paragraphs[0] and len(paragraphs[0]) <= _MAX_HEADER_CHARS:
            m = c.byline.fullmatch(paragraphs[0])
            if m:
                extra["byline"] = paragraphs.pop(0)
                author = m["author"].strip()
    return Comment(
        id="post",
        text="\n\n".join(paragraphs),
        author=author,
        created_at=created,
        created_precision=precision,
        kind="post",
        extra=extra,
    )
