"""Altair charts for the Overview and Thread pages, built from analytics output. No
comment text ever goes into a chart (tooltips are numbers and dates only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd


def depth_frame(by_depth: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """analytics.toxicity_by_depth rows as a frame (rate as a share, 0..1); deep levels
    merged into bands (``analytics.depth_bands``), so a very deep thread stays readable."""
    from analyzer.analytics import depth_bands

    return pd.DataFrame(
        [
            {
                "depth": r["label"],
                "comments": r["comments"],
                "toxic share": r["rate"],
                "mean toxicity": r["mean_toxicity"],
            }
            for r in depth_bands(by_depth)
        ]
    )


def time_frame(over_time: Mapping[str, Any] | None) -> pd.DataFrame:
    """analytics.over_time's series as a frame with real timestamps."""
    rows = (over_time or {}).get("series") or []
    frame = pd.DataFrame([{"start": r["start"], "comments": r["comments"], "toxic share": r["rate"]} for r in rows])
    if not frame.empty:
        frame["start"] = pd.to_datetime(frame["start"])
    return frame


def sentiment_frame(mix: Mapping[str, Any]) -> pd.DataFrame:
    share = (mix or {}).get("share") or {}
    return pd.DataFrame([{"sentiment": k, "share": v} for k, v in share.items() if v is not None])


def depth_chart(frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("depth:O", title="reply depth", sort=None),  # in depth order, bands after single depths
            y=alt.Y("toxic share:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "toxic share:Q", scale=alt.Scale(scheme="redyellowgreen", reverse=True, domain=[0, 1]), legend=None
            ),
            tooltip=["depth", "comments", alt.Tooltip("toxic share:Q", format=".1%")],
        )
        .properties(height=220)
    )


def time_chart(frame: pd.DataFrame, x: str = "start") -> alt.LayerChart:
    """Comments as bars, toxic share as a line on a second axis."""
    base = alt.Chart(frame).encode(x=alt.X(f"{x}:T", title=None))
    bars = base.mark_bar(opacity=0.3, color="#6b7280").encode(
        y=alt.Y("comments:Q", title="comments"), tooltip=[alt.Tooltip(f"{x}:T"), "comments"]
    )
    line = base.mark_line(point=True, color="#dc2626").encode(
        y=alt.Y("toxic share:Q", axis=alt.Axis(format="%"), title="toxic share"),
        tooltip=[alt.Tooltip(f"{x}:T"), alt.Tooltip("toxic share:Q", format=".1%")],
    )
    return alt.layer(bars, line).resolve_scale(y="independent").properties(height=220)


def sentiment_chart(frame: pd.DataFrame) -> alt.Chart:
    colours = alt.Scale(domain=["negative", "neutral", "positive"], range=["#dc2626", "#9ca3af", "#16a34a"])
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("share:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("sentiment:N", sort=["negative", "neutral", "positive"], title=None),
            color=alt.Color("sentiment:N", scale=colours, legend=None),
            tooltip=["sentiment", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=120)
    )
