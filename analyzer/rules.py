"""Moderation rules beside the models: banned and suspect words, regular expressions, links,
and new authors. Pure matching (no database): the store applies them on import and on
demand, and the dashboard validates a rule here before saving it.

Comment text is hostile, and so may be a pattern pasted by a moderator: text is NFKC
normalised (full-width letters, ligatures and the like fold to plain ones) with zero-width
characters dropped; word lists match whole words, case-insensitively; patterns and lists
are capped in size, and every match runs with a time limit (the ``regex`` package's
``timeout``), so a catastrophic pattern flags the comment for a look instead of hanging
the import. Without ``regex`` installed, patterns with nested quantifiers are refused.

A rule's scope says what it is: ``thread:ID`` (exactly that thread, so ``thread:a`` never
covers thread ``a1``), ``community:ID``, ``source:GLOB``, ``format:NAME``, or ``all``.
Scopes stored before kinds existed were bare prefixes; they are still read that way
(as ``prefix:TEXT``), but a bare entry is refused when a rule is saved.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from analyzer.errors import AnalyzerError

KINDS = ("words", "regex", "link", "new_author")
SEVERITIES = ("banned", "suspect")
KIND_HELP = {
    "words": "words or phrases, one a line, matched as whole words, any case",
    "regex": "regular expressions, one a line, any case",
    "link": "comments with links; the lines are allowed domains (empty: every link counts)",
    "new_author": "an author's first comment in this store",
}
ALL = "all"
MAX_NAME = 200
MAX_ENTRIES = 2000  # lines per rule
MAX_WORD = 200  # characters per word or phrase
MAX_PATTERN = 500  # characters per regular expression
MAX_SCOPE = 2000
MAX_REASON = 300
MATCH_TIMEOUT = 0.1  # seconds per pattern per comment
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]{}]+", re.IGNORECASE)
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# a quantified group that itself holds a quantifier, e.g. (a+)+ or (x*y)*: refused without ``regex``
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]")


class RuleError(AnalyzerError):
    """A rule that cannot be saved as given (its message says what to change)."""


def _regex_module() -> Any | None:
    try:
        import regex
    except ImportError:  # pragma: no cover - regex comes with transformers
        return None
    return regex


def normalize(text: str) -> str:
    """``text`` as rules read it: NFKC, zero-width characters and soft hyphens dropped."""
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


def lines(value: str) -> list[str]:
    """The non-empty, stripped lines of a rule's pattern or scope, duplicates dropped."""
    return list(dict.fromkeys(s.strip() for s in value.splitlines() if s.strip()))


# ---------------------------------------------------------------------------- scopes
SCOPE_KINDS = {
    "thread": "one thread, by its exact id",
    "community": "an API community (Perspective's communityId): the thread api:community:ID",
    "source": "threads whose source (file path, or api) matches a glob such as exports/*.jsonl",
    "format": "threads of one format, e.g. reddit",
    "prefix": "the old plain scopes: a thread id, source or format that starts with the text",
}
SCOPE_HELP = "'all', or one a line: " + "; ".join(f"{k}:... {v}" for k, v in SCOPE_KINDS.items())
COMMUNITY_THREAD = "api:community:"  # where the service stores a community's comments (service.storage)
_SCOPE_KIND = re.compile("^(" + "|".join(SCOPE_KINDS) + r")\s*:(.*)$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class ScopeEntry:
    """One entry of a scope: ``kind:value`` (see ``SCOPE_KINDS``)."""

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    def matches(self, thread_id: str, source: str | None, format: str | None) -> bool:
        v = self.value
        if self.kind == "thread":
            return thread_id == v
        if self.kind == "community":
            return thread_id == COMMUNITY_THREAD + v
        if self.kind == "source":
            return source is not None and fnmatch.fnmatchcase(source, v)
        if self.kind == "format":
            return (format or "").lower() == v.lower()
        return any(f.startswith(v) for f in (thread_id, source or "", format or "") if f)  # prefix


def _scope_parts(line: str) -> list[str]:
    """A line's entries: split at commas, except inside a ``kind:value`` (a thread id or a
    glob may hold a comma): there only before the next ``kind:`` or ``all``."""
    parts = [p.strip() for p in line.split(",")]
    if not any(_SCOPE_KIND.match(p) for p in parts):
        return [p for p in parts if p]  # an old plain line: every comma separates
    out: list[str] = []
    for p in parts:
        if out and not _SCOPE_KIND.match(p) and p.lower() not in (ALL, "*"):
            out[-1] += "," + p
        elif p:
            out.append(p)
    return out


def _plain_hint(entry: str) -> str:
    if entry.startswith(COMMUNITY_THREAD) and len(entry) > len(COMMUNITY_THREAD):
        return f"community:{entry[len(COMMUNITY_THREAD) :]}"
    return f"thread:{entry}, source:{entry}*, format:{entry} or prefix:{entry}"


@functools.lru_cache(maxsize=1024)
def _parse_scope(scope: str, strict: bool) -> tuple[ScopeEntry, ...]:
    entries: list[ScopeEntry] = []
    for n, line in enumerate(scope.splitlines(), 1):
        for part in _scope_parts(line):
            if part.lower() in (ALL, "*"):
                return ()
            m = _SCOPE_KIND.match(part)
            if m is None:
                if strict:
                    raise RuleError(f"scope line {n}: say what {part!r} is: write {_plain_hint(part)}")
                entries.append(ScopeEntry("prefix", part))  # stored before scopes had kinds: the old meaning
                continue
            kind, value = m.group(1).lower(), m.group(2).strip()
            if not value:
                if strict:
                    raise RuleError(f"scope line {n}: {kind}: needs a value ({SCOPE_KINDS[kind]})")
                continue
            entries.append(ScopeEntry(kind, value))
    return tuple(dict.fromkeys(entries))


def parse_scope(scope: str, *, strict: bool = False) -> list[ScopeEntry]:
    """A scope's entries, [] for every thread. Stored scopes are read leniently (an entry
    without a kind, as saved before kinds existed, keeps its old meaning: ``prefix:``);
    ``strict`` (saving) refuses it with what to write instead."""
    if len(scope) > MAX_SCOPE:
        if strict:
            raise RuleError(f"a scope has at most {MAX_SCOPE} characters")
        scope = scope[:MAX_SCOPE]
    return list(_parse_scope(scope, strict))


def canonical_scope(scope: str, *, strict: bool = False) -> str:
    """The scope as stored and shown: ``all``, or one ``kind:value`` a line."""
    return "\n".join(map(str, parse_scope(scope, strict=strict))) or ALL


def in_scope(scope: str, thread_id: str, source: str | None = None, format: str | None = None) -> bool:
    """Whether a thread is in ``scope``: "all", or any of its entries (``thread:ID`` exactly,
    ``community:ID``, ``source:GLOB``, ``format:NAME``, ``prefix:TEXT``)."""
    entries = parse_scope(scope)
    return not entries or any(e.matches(thread_id, source, format) for e in entries)


@dataclass(frozen=True)
class Rule:
    """A rule as stored; ``pattern`` holds one entry a line."""

    name: str
    kind: str
    severity: str = "suspect"
    pattern: str = ""
    scope: str = ALL
    enabled: bool = True
    id: int | None = None

    def label(self) -> str:
        return f"{self.severity} {self.kind.replace('_', ' ')} rule {self.name!r}"


def validate(rule: Rule) -> Rule:
    """The rule with its name, pattern and scope tidied, or RuleError saying what is wrong."""
    name = " ".join(rule.name.split())
    if not name:
        raise RuleError("a rule needs a name")
    if len(name) > MAX_NAME:
        raise RuleError(f"a rule's name has at most {MAX_NAME} characters")
    if rule.kind not in KINDS:
        raise RuleError(f"unknown rule kind {rule.kind!r}; use one of {', '.join(KINDS)}")
    if rule.severity not in SEVERITIES:
        raise RuleError(f"unknown severity {rule.severity!r}; use one of {', '.join(SEVERITIES)}")
    scope = canonical_scope(rule.scope, strict=True)
    entries = lines(rule.pattern)
    if len(entries) > MAX_ENTRIES:
        raise RuleError(f"a rule has at most {MAX_ENTRIES} lines, this one {len(entries)}")
    if rule.kind == "words":
        if not entries:
            raise RuleError("a word rule needs at least one word or phrase")
        for n, w in enumerate(entries, 1):
            if len(w) > MAX_WORD:
                raise RuleError(f"line {n}: a word or phrase has at most {MAX_WORD} characters")
    elif rule.kind == "regex":
        if not entries:
            raise RuleError("a pattern rule needs at least one regular expression")
        for n, p in enumerate(entries, 1):
            _compile_pattern(p, n)
    elif rule.kind == "link":
        entries = [_domain(d, n) for n, d in enumerate(entries, 1)]
    elif entries:
        raise RuleError("a new-author rule takes no pattern")
    return Rule(
        name=name,
        kind=rule.kind,
        severity=rule.severity,
        pattern="\n".join(entries),
        scope=scope,
        enabled=bool(rule.enabled),
        id=rule.id,
    )


def _domain(value: str, n: int) -> str:
    d = normalize(value).strip().lower().rstrip(".")
    if "://" in d:
        d = urlsplit(d).hostname or ""
    d = d.removeprefix("www.") if d.startswith("www.") and d.count(".") > 1 else d
    try:
        d = d.encode("idna").decode("ascii") if d and not d.isascii() else d
    except UnicodeError:
        raise RuleError(f"line {n}: {value!r} is not a domain name") from None
    if not _DOMAIN.match(d) or len(d) > 253:
        raise RuleError(f"line {n}: {value!r} is not a domain name (e.g. example.org)")
    return d


def _compile_pattern(pattern: str, n: int) -> Any:
    if len(pattern) > MAX_PATTERN:
        raise RuleError(f"line {n}: a regular expression has at most {MAX_PATTERN} characters")
    rx = _regex_module()
    if rx is None:
        if _NESTED_QUANTIFIER.search(pattern):
            raise RuleError(f"line {n}: nested quantifiers such as (a+)+ can take forever; rewrite the pattern")
        try:
            return re.compile(pattern, re.IGNORECASE)
        except re.error as e:
            raise RuleError(f"line {n}: not a regular expression: {e}") from None
    try:
        return rx.compile(pattern, rx.IGNORECASE | rx.V0)
    except (rx.error, ValueError, OverflowError) as e:
        raise RuleError(f"line {n}: not a regular expression: {e}") from None


def _search(compiled: Any, text: str) -> Any:
    """``compiled.search(text)`` within the time limit (TimeoutError past it)."""
    if _regex_module() is not None and not isinstance(compiled, re.Pattern):
        return compiled.search(text, timeout=MATCH_TIMEOUT)
    return compiled.search(text)


def _quote(value: str, n: int = 60) -> str:
    value = " ".join(value.split())
    return value if len(value) <= n else value[: n - 1] + "…"


class Matcher:
    """One rule compiled for matching comment text; ``reason(text)`` says why it flags a
    comment, or None. (New-author rules need the store's history: see ``store.rules``.)"""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self._patterns: list[tuple[str, Any]] = []
        entries = lines(rule.pattern)
        if rule.kind == "words" and entries:
            words = sorted({normalize(w).casefold() for w in entries}, key=len, reverse=True)
            alternatives = "|".join(r"\s+".join(re.escape(part) for part in w.split()) for w in words)
            self._patterns.append(("", _compile_pattern_unchecked(rf"(?<!\w)(?:{alternatives})(?!\w)")))
        elif rule.kind == "regex":
            self._patterns = [(p, _compile_pattern(p, n)) for n, p in enumerate(entries, 1)]
        self._allowed = entries if rule.kind == "link" else []

    @property
    def reads_text(self) -> bool:
        return self.rule.kind != "new_author"

    def reason(self, text: str) -> str | None:
        kind = self.rule.kind
        if kind == "new_author":
            return None
        norm = normalize(text)
        if kind == "link":
            return self._link(norm)
        subject = norm.casefold() if kind == "words" else norm
        for source, compiled in self._patterns:
            try:
                m = _search(compiled, subject)
            except TimeoutError:
                return _cap(f"{self.rule.severity}: pattern of rule {self.rule.name!r} ran out of time on this text")
            if m is not None:
                what = "word" if kind == "words" else f"pattern /{_quote(source, 80)}/ matched"
                return _cap(f"{self.rule.severity} {what} {_quote(m.group(0))!r} (rule {self.rule.name!r})")
        return None

    def _link(self, text: str) -> str | None:
        for m in _URL.finditer(text):
            url = m.group(0)
            host = _host(url)
            if host is None:
                continue
            if self._allowed and any(host == d or host.endswith("." + d) for d in self._allowed):
                continue
            why = "not on the allow list" if self._allowed else "links are flagged"
            return _cap(f"{self.rule.severity}: link to {_quote(host, 80)} ({why}; rule {self.rule.name!r})")
        return None


def _compile_pattern_unchecked(pattern: str) -> Any:
    rx = _regex_module()
    return rx.compile(pattern, rx.V0) if rx is not None else re.compile(pattern)


def _host(url: str) -> str | None:
    if url.lower().startswith("www."):
        url = "http://" + url
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".").lower()
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        pass
    return host.removeprefix("www.")


def _cap(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"


def new_author_reason(rule: Rule, author: str) -> str:
    return _cap(f"{rule.severity}: new author {_quote(author)!r}, first comment in this store (rule {rule.name!r})")


def compile_rules(rules: Iterable[Rule]) -> list[Matcher]:
    """Matchers for the enabled rules (a stored rule that no longer compiles is skipped)."""
    out = []
    for r in rules:
        if not r.enabled:
            continue
        try:
            out.append(Matcher(r))
        except RuleError:
            continue
    return out
