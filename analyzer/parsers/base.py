"""What every parser shares: the input (``Source``), the settings (``Context``), and the
small conversions (bytes to text, JSON, HTML to text, times) done one way everywhere, so
that every format fails the same way on bad bytes: an ``InputError`` naming the place."""

from __future__ import annotations

import codecs
import html
import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

from analyzer.errors import InputError
from analyzer.limits import Limits

# Flags parsers put on comments (beside the repair flags of analyzer.thread).
FLAG_DELETED = "deleted"
FLAG_REMOVED = "removed"
FLAG_DEAD = "dead"
FLAG_SPAM = "spam"
FLAG_AUTHOR_DELETED = "author_deleted"
FLAG_TRUNCATED = "truncated"
FLAG_TEXT_MISSING = "text_missing"
FLAG_REPLY_TARGET_UNKNOWN = "reply_target_unknown"

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass
class Context:
    """Settings of one parse: reference time for relative dates, limits, column names
    for tabular files, and companion files (e.g. Reddit 'load more' recordings)."""

    now: datetime
    limits: Limits
    columns: Mapping[str, str] = field(default_factory=dict)
    companions: list[Source] = field(default_factory=list)


class Source:
    """One input file's bytes and name; decodes and loads JSON once, on demand."""

    def __init__(self, data: bytes, name: str, path: Path | None = None) -> None:
        self.data = data
        self.name = name
        self.path = path

    @property
    def stem(self) -> str:
        """The file name without folders and extension: a default thread id."""
        base = self.name.replace("\\", "/").rsplit("/", 1)[-1]
        return base.rsplit(".", 1)[0] if "." in base.strip(".") else base

    def fail(self, message: str, where: str | None = None) -> InputError:
        """An ``InputError`` on one line, naming this file (and the place when known)."""
        return InputError(one_line(message), source=self.name, where=where)

    def check_not_empty(self) -> None:
        if not self.data or self.data.isspace():
            raise self.fail("the file is empty")

    @cached_property
    def encoding(self) -> str:
        """'utf-8', or the UTF encoding its byte-order mark names."""
        for bom, enc in _BOMS:
            if self.data.startswith(bom):
                return enc
        return "utf-8"

    def check_text(self) -> None:
        """Refuse empty and binary files before any parser looks at them."""
        self.check_not_empty()
        if self.encoding == "utf-8" and b"\x00" in self.data[:65536]:
            raise self.fail("this is a binary file, not a text export (it contains NUL bytes)")

    @cached_property
    def text(self) -> str:
        """The file as text; anything but UTF-8 (or a UTF with a byte-order mark) is refused."""
        self.check_text()
        enc = self.encoding
        try:
            text = self.data.decode(enc)
        except UnicodeDecodeError as exc:
            line = self.data.count(b"\n", 0, exc.start) + 1
            bad = self.data[exc.start : exc.start + 1].hex()
            raise self.fail(
                f"not {enc.upper().replace('-SIG', '')} text (byte 0x{bad} cannot be decoded); save it as UTF-8",
                where=f"line {line}",
            ) from None
        return text[1:] if text.startswith("\ufeff") else text

    @cached_property
    def json(self) -> Any:
        """The file as one JSON document, at any depth of nesting (reply trees nest deep;
        the platform parsers walk them with a stack and keep only scalar fields)."""
        return load_json(self.text, self, deep=True)


def one_line(message: str, limit: int = 300) -> str:
    """Error text fit for one terminal line: no newlines, not endless."""
    flat = " ".join(str(message).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def load_json(text: str | bytes, src: Source, where: str | None = None, *, deep: bool = False) -> Any:
    """``json.loads`` whose every failure is an ``InputError`` with line and column.

    Nesting deeper than Python's recursion limit is refused, unless ``deep``: then it is
    read without recursion (``deepjson``). Only callers that walk the result iteratively and
    copy no nested values into comments may ask for that, since anything that later
    serialises a deep value with ``json.dumps`` would hit the same limit."""
    try:
        try:
            return json.loads(text)
        except RecursionError:
            if not deep:
                raise
        from analyzer.parsers import deepjson

        return deepjson.loads(text.decode("utf-8") if isinstance(text, bytes) else text)
    except RecursionError:
        raise src.fail("JSON nested too deeply to read", where=where) from None
    except json.JSONDecodeError as exc:
        place = f"line {exc.lineno} column {exc.colno}" if where is None else where
        raise src.fail(f"invalid JSON: {exc.msg}", where=place) from None
    except (ValueError, UnicodeDecodeError) as exc:  # huge integers, bad bytes in a JSON line
        raise src.fail(f"invalid JSON: {exc}", where=where) from None


# ---------------------------------------------------------------------- text helpers
_TAG = re.compile(r"<[^>]*>")
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def html_to_text(markup: str | None) -> str:
    """Comment HTML (Hacker News, Disqus, YouTube) as plain text: paragraphs become blank
    lines, ``<br>`` a newline, entities decoded."""
    if not markup:
        return ""
    if "<" not in markup:
        return html.unescape(markup).strip() if "&" in markup else markup.strip()
    from bs4 import BeautifulSoup, ParserRejectedMarkup

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bs4 warns when text merely looks like a URL
            soup = BeautifulSoup(markup, "html.parser")
            for br in soup.find_all("br"):
                br.replace_with("\n")
            for block in soup.find_all(["p", "div", "li", "pre", "blockquote", "tr"]):
                block.insert_before("\n\n")
            text = soup.get_text()
            soup.decompose()  # break the tree's reference cycles now (parsers pause the GC)
    except (RecursionError, ParserRejectedMarkup):  # pathological nesting, or markup Python's
        text = html.unescape(_TAG.sub("", markup))  # HTML parser gives up on ('<![GDATA['): strip tags
    return tidy(text)


def tidy(text: str) -> str:
    """Trim, drop trailing spaces, and keep at most one blank line between paragraphs."""
    if "\n" in text:
        text = "\n".join(line.rstrip() for line in text.split("\n"))
        text = _BLANKS.sub("\n\n", text)
    return text.strip()


def as_str(value: Any) -> str | None:
    """An id or name from JSON as a string (ids may be numbers); None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return None


def as_int(value: Any) -> int | None:
    """A count or score from JSON; None when it is not a number."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value and abs(value) < 1e18:
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: hostile files put lists where
    objects belong, and parsers should not care."""
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


# ---------------------------------------------------------------------- times
UTC = timezone.utc
_UNITS = {
    "s": "second",
    "sec": "second",
    "secs": "second",
    "second": "second",
    "seconds": "second",
    "m": "minute",
    "min": "minute",
    "mins": "minute",
    "minute": "minute",
    "minutes": "minute",
    "h": "hour",
    "hr": "hour",
    "hrs": "hour",
    "hour": "hour",
    "hours": "hour",
    "d": "day",
    "day": "day",
    "days": "day",
    "w": "week",
    "wk": "week",
    "wks": "week",
    "week": "week",
    "weeks": "week",
    "mo": "month",
    "mos": "month",
    "month": "month",
    "months": "month",
    "y": "year",
    "yr": "year",
    "yrs": "year",
    "year": "year",
    "years": "year",
}
RELATIVE_TIME = re.compile(
    r"(?P<n>\d{1,4}|an?|one)\s*(?P<unit>[a-z]{1,7})\s+ago",
    re.IGNORECASE,
)
_NOW_WORDS = {"just now": "minute", "now": "minute", "a moment ago": "minute", "moments ago": "minute"}
_DAY_WORDS = {"today": 0, "yesterday": 1}
TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"


def aware(dt: datetime) -> datetime:
    """Times without a zone are taken as UTC, so that all times compare."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def from_epoch(value: float) -> datetime | None:
    """Seconds (or milliseconds, for values past the year 5138) since 1970 as UTC."""
    if value != value:  # NaN
        return None
    if abs(value) > 1e11:
        value /= 1000.0
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def resolve_relative(text: str, now: datetime) -> tuple[datetime, str] | None:
    """'4 months ago' → (now minus 4 months, 'month'): the coarseness stays known."""
    low = " ".join(text.lower().split())
    if low in _NOW_WORDS:
        return now, _NOW_WORDS[low]
    if low in _DAY_WORDS:
        from dateutil.relativedelta import relativedelta

        return now - relativedelta(days=_DAY_WORDS[low]), "day"
    m = RELATIVE_TIME.fullmatch(low)
    if m is None:
        return None
    unit = _UNITS.get(m["unit"])
    if unit is None:
        return None
    n = 1 if m["n"] in ("a", "an", "one") else int(m["n"])
    from dateutil.relativedelta import relativedelta

    try:
        return now - relativedelta(**{unit + "s": n}), unit
    except (OverflowError, ValueError):
        return None


class TimeParser:
    """Times of one source as aware datetimes with their precision. Fast for what exports
    use (ISO 8601, epoch numbers, Twitter's format); dateutil and dateparser handle the
    rest, but only for the first misses, so a column of junk cannot take hours.

    dateparser reads English only and is set up once per source: left to guess among all
    its languages, it takes a second or more per unreadable value (found by fuzzing)."""

    def __init__(self, now: datetime, slow_budget: int = 2000) -> None:
        self.now = now
        self._slow_left = slow_budget
        self._dateparser: Any = None

    def __call__(self, value: Any) -> tuple[datetime | None, str | None]:
        dt, precision = self._parse(value)
        if dt is not None:
            try:
                dt.utcoffset()  # dateutil accepts zones such as '+3000' that datetime cannot use
            except (ValueError, OverflowError):
                return None, None
        return dt, precision

    def _parse(self, value: Any) -> tuple[datetime | None, str | None]:
        if value is None or value == "" or isinstance(value, bool):
            return None, None
        if isinstance(value, (int, float)):
            return from_epoch(float(value)), None
        if not isinstance(value, str):
            return None, None
        v = value.strip()
        if not v:
            return None, None
        if v.isdecimal():  # not isdigit(): float() refuses superscripts such as '¹'
            return from_epoch(float(v)), None
        if v[0].isdigit() or v[0] == "-":
            try:
                dt = datetime.fromisoformat(v[:-1] + "+00:00" if v[-1] in "Zz" else v)
            except ValueError:
                if _is_number(v):
                    return from_epoch(float(v)), None
            else:
                return aware(dt), ("day" if len(v) == 10 else None)
        if len(v) == 30 and v[3] == " ":
            try:
                return datetime.strptime(v, TWITTER_TIME), None
            except ValueError:
                pass
        rel = resolve_relative(v, self.now) if len(v) < 40 else None
        if rel is not None:
            return rel
        return self._slow(v)

    def _slow(self, v: str) -> tuple[datetime | None, str | None]:
        if self._slow_left <= 0 or len(v) > 100:
            return None, None
        self._slow_left -= 1
        from dateutil import parser as dateutil_parser

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # UnknownTimezoneWarning on junk: a miss, not news
                return aware(dateutil_parser.parse(v)), None
        except (ValueError, ArithmeticError, TypeError, LookupError):  # decimal errors on '11:1111…1:38'
            pass
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if self._dateparser is None:
                    import dateparser

                    self._dateparser = dateparser.DateDataParser(
                        languages=["en"],
                        settings={
                            "RELATIVE_BASE": self.now.replace(tzinfo=None),
                            "TIMEZONE": "UTC",
                            "RETURN_AS_TIMEZONE_AWARE": True,
                            "TO_TIMEZONE": "UTC",
                        },
                    )
                data = self._dateparser.get_date_data(v)
        except Exception:  # dateparser raises assorted errors on odd input; a miss is a miss
            return None, None
        if data is None or data.date_obj is None:
            return None, None
        return aware(data.date_obj), (data.period if data.period in ("month", "year", "week") else None)


def _is_number(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True
