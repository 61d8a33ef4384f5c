"""``analyzer report``: every metric of one stored thread, as JSON or Markdown.

Comment text and names are hostile input: Markdown output escapes them (no injected links,
HTML or tables) and terminal output drops control characters (no escape sequences).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from analyzer.analytics import depth_bands
from analyzer.commands.ingest import DB_HELP

# Enough to stop emphasis, code, links, images, HTML, tables and headings (text is never at a line start).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def terminal_safe(text: str, width: int | None = None) -> str:
    """One line without control characters (ANSI escapes, C1 codes, bidi overrides), cut to ``width``."""
    out = "".join(ch if not unicodedata.category(ch).startswith("C") else " " for ch in text)
    out = " ".join(out.split())
    if width is not None and len(out) > width:
        out = out[: width - 1] + "…"
    return out


def md(text: Any, width: int | None = None) -> str:
    """Text made inert in Markdown: one line, special characters backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", terminal_safe(str(text), width))


def build_report(loaded: Any, *, use_context: bool = True) -> dict[str, Any]:
    """The analytics report of a loaded thread plus where it came from and which models scored
    it: measured by in-context scores where a context model gave them, unless not ``use_context``."""
    from analyzer import analytics

    out: dict[str, Any] = dict(  # the report, and where the thread came from
        analytics.report(loaded, use_context=use_context)
    )
    out["thread"] = {k: v for k, v in loaded.info.items() if k != "stats"}
    out["models"] = loaded.models
    out["thresholds"] = loaded.thresholds
    if loaded.context_models:
        out["context_models"] = loaded.context_models
        out["context_thresholds"] = loaded.context_thresholds
    return out


@click.command()
@click.argument("thread_id", metavar="THREAD")
@click.option("--db", default=None, metavar="URL", help=DB_HELP)
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
@click.option(
    "--alone",
    is_flag=True,
    help="Measure every comment alone (context-free scores) even where a context model read it with its parent.",
)
def report(thread_id: str, db: str | None, fmt: str, alone: bool = False) -> None:
    """All metrics of THREAD (an id from `analyzer threads`): sizes, labels, sentiment,
    toxicity by depth, escalation, turning point, hottest sub-threads, authors, time.
    Measured by in-context scores where a context model gave them (the report says which)."""
    from analyzer.store import Store

    with Store.open(db, create=False) as store:
        loaded = store.load_thread(thread_id)
    data = build_report(loaded, use_context=not alone)
    if fmt == "json":
        click.echo(json.dumps(data, default=_jsonable, ensure_ascii=True, indent=1))
    else:
        click.echo(render_markdown(data))


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def render_markdown(data: dict[str, Any]) -> str:
    """The report as Markdown: one section per metric, tables where they help."""
    lines = _heading(data)
    for section in _SECTIONS:
        lines += section(data)
    return "\n".join(lines) + "\n"


def _heading(data: dict[str, Any]) -> list[str]:
    """The thread's title, where it came from, which models scored it and which scores measure it."""
    info = data.get("thread", {})
    lines = [f"# Thread {md(data['thread_id'])}", ""]
    if info.get("title"):
        lines += [f"**{md(info['title'], 200)}**", ""]
    lines += [f"Source: {md(info.get('source') or '–')} ({md(info.get('format') or 'unknown format')})"]
    if data.get("models"):
        lines += ["Models: " + ", ".join(f"{md(k)} ← {md(v)}" for k, v in sorted(data["models"].items()))]
    if data.get("context_models"):
        lines += [
            "In-context models: " + ", ".join(f"{md(k)} ← {md(v)}" for k, v in sorted(data["context_models"].items()))
        ]
    if "scores_used" in data:
        lines += [
            f"Scores: {md(data['scores_used'])} (each comment read "
            + (
                "with the comment it answers where a context model scored it)"
                if data["scores_used"] == "in context"
                else "alone)"
            )
        ]
    return lines


def _summary(data: dict[str, Any]) -> list[str]:
    """Risk, sizes and toxicity at a glance."""
    s = data["summary"]
    lines = ["", "## Summary", ""]
    lines += _table(
        ["metric", "value"],
        [
            ["risk (0–1)", _num(s["risk"])],
            ["comments", str(s["comments"])],
            ["authors", str(s["authors"])],
            ["max / mean depth", f"{s['max_depth']} / {_num(s['mean_depth'], 1)}"],
            ["scored", str(s["scored"])],
            ["toxic", f"{s['toxic']} ({_pct(s['toxic_share'])})"],
            [
                "toxicity mean / p90 / max",
                f"{_num(s['mean_toxicity'])} / {_num(s['p90_toxicity'])} / {_num(s['max_toxicity'])}",
            ],
            ["most frequent label", md(s["top_label"] or "–")],
            ["first / last comment", f"{s['first_at'] or '–'} / {s['last_at'] or '–'}"],
        ],
    )
    return lines


def _labels(data: dict[str, Any]) -> list[str]:
    """Each label's distribution against its threshold (none when no label was scored)."""
    labels = data["summary"]["labels"]
    if not labels:
        return []
    return [
        "",
        "## Labels",
        "",
        *_table(
            ["label", "n", "mean", "max", "p90", "threshold", "at/above"],
            [
                [
                    md(k),
                    str(v["n"]),
                    _num(v["mean"]),
                    _num(v["max"]),
                    _num(v["p90"]),
                    _num(v["threshold"]),
                    _pct(v["share_above"]),
                ]
                for k, v in labels.items()
            ],
        ),
    ]


def _sentiment(data: dict[str, Any]) -> list[str]:
    """The sentiment classes' shares (none when no comment has a sentiment score)."""
    sent = data["sentiment"]
    if not sent["n"]:
        return []
    return [
        "",
        "## Sentiment",
        "",
        *_table(
            ["class", "share (most likely)", "mean probability"],
            [[k, _pct(sent["share"][k]), _num(sent["mean"][k])] for k in sent["share"]],
        ),
    ]


def _toxicity_by_depth(data: dict[str, Any]) -> list[str]:
    """How toxic each band of reply depth is."""
    lines = ["", "## Toxicity by depth", ""]
    lines += _table(
        ["depth", "comments", "scored", "toxic", "rate", "mean toxicity"],
        [
            [
                r["label"],
                str(r["comments"]),
                str(r["scored"]),
                str(r["toxic"]),
                _pct(r["rate"]),
                _num(r["mean_toxicity"]),
            ]
            for r in depth_bands(data["toxicity_by_depth"])
        ]
        or [["–"] * 6],
    )
    return lines


def _escalation(data: dict[str, Any]) -> list[str]:
    """Whether toxic comments draw toxic replies, and how toxicity moves down the paths."""
    e = data["escalation"]
    trend = e["path_trend"]
    return [
        "",
        "## Escalation",
        "",
        f"- reply pairs (both scored): {e['reply_pairs']}",
        f"- base toxic rate: {_pct(e['base_rate'])}",
        f"- P(reply toxic | parent toxic): {_pct(e['p_toxic_after_toxic'])}, "
        f"against P(reply toxic | parent not toxic): {_pct(e['p_toxic_after_clean'])}",
        f"- escalation ratio (vs base rate): {_num(e['ratio'])}",
        f"- along {trend['paths']} root-to-leaf path(s): mean toxicity slope per level "
        f"{_num(trend['mean_slope'], 3)}, rising on {_pct(trend['rising_share'])}",
    ]


def _turning_point(data: dict[str, Any]) -> list[str]:
    """The comment after which the replies turn markedly more toxic, if any."""
    tp = data["turning_point"]
    lines = ["", "## Turning point", ""]
    if tp is None:
        lines += ["No comment after which its replies turn markedly more toxic than the rest of the thread."]
    else:
        lines += [
            f"Comment **{md(tp['comment_id'])}** by {md(tp['author'] or 'unknown')} (depth {tp['depth']}"
            + (f", {tp['created_at']}" if tp["created_at"] else "")
            + f"): its {tp['replies']} replies are toxic at "
            f"{_pct(tp['after_rate'])} against {_pct(tp['before_rate'])} in the rest of the thread "
            f"(jump {_num(tp['jump'])}; {tp['candidates']} candidate(s)).",
            "",
            f"> {md(tp['preview'])}",
        ]
    return lines


def _hottest_subthreads(data: dict[str, Any]) -> list[str]:
    """The sub-threads with the most toxicity in them."""
    hot = data["hottest_subthreads"]
    lines = ["", "## Hottest sub-threads", ""]
    lines += (
        _table(
            ["comment", "author", "depth", "comments", "toxic", "rate", "heat", "starts with"],
            [
                [
                    md(h["comment_id"], 30),
                    md(h["author"] or "–", 30),
                    str(h["depth"]),
                    str(h["comments"]),
                    str(h["toxic"]),
                    _pct(h["rate"]),
                    _num(h["heat"]),
                    md(h["preview"], 80),
                ]
                for h in hot
            ],
        )
        if hot
        else ["None (no sub-thread of 3+ scored comments with a toxic one)."]
    )
    return lines


def _authors(data: dict[str, Any]) -> list[str]:
    """The most toxic authors and the pairs of authors trading toxic replies."""
    a = data["authors"]
    lines = ["", "## Authors", ""]
    lines += (
        _table(
            ["author", "comments", "toxic", "rate", "max toxicity"],
            [
                [md(r["author"], 40), str(r["comments"]), str(r["toxic"]), _pct(r["rate"]), _num(r["max_toxicity"])]
                for r in a["most_toxic"]
            ],
        )
        if a["most_toxic"]
        else ["No toxic comment with a known author."]
    )
    if a["hostile_pairs"]:
        lines += ["", "Hostile exchanges (toxic replies between two authors):", ""]
        lines += _table(
            ["authors", "replies", "toxic replies", "by each"],
            [
                [
                    " ↔ ".join(md(x, 30) for x in p["authors"]),
                    str(p["exchanges"]),
                    str(p["hostile"]),
                    ", ".join(f"{md(k, 30)}: {v}" for k, v in p["hostile_by"].items()),
                ]
                for p in a["hostile_pairs"]
            ],
        )
    return lines


def _over_time(data: dict[str, Any]) -> list[str]:
    """Comments and toxicity per time bucket (the 60 busiest when there are more)."""
    ot = data["over_time"]
    lines = ["", "## Over time", ""]
    if ot is None:
        lines += ["No comment has a known time."]
    else:
        busy = [r for r in ot["series"] if r["comments"]]
        lines += [
            f"Per {ot['bucket']}; {ot['timed']} comment(s) with a time, {ot['untimed']} without."
            + (f" Showing the 60 busiest of {len(busy)} buckets." if len(busy) > 60 else ""),
            "",
        ]
        shown = sorted(sorted(busy, key=lambda r: -r["comments"])[:60], key=lambda r: r["start"])
        lines += _table(
            [ot["bucket"], "comments", "toxic", "rate"],
            [[r["start"], str(r["comments"]), str(r["toxic"]), _pct(r["rate"])] for r in shown],
        )
    return lines


def _repairs(data: dict[str, Any]) -> list[str]:
    """What the parser had to repair in the input (none when nothing was)."""
    if not data["repairs"]:
        return []
    return ["", "## Repairs made while reading", ""] + [
        f"- {md(r['kind'])}: {md(r['message'], 300)}" for r in data["repairs"]
    ]


# the sections after the heading, in the order the report shows them
_SECTIONS: tuple[Callable[[dict[str, Any]], list[str]], ...] = (
    _summary,
    _labels,
    _sentiment,
    _toxicity_by_depth,
    _escalation,
    _turning_point,
    _hottest_subthreads,
    _authors,
    _over_time,
    _repairs,
)
