"""Export page: every comment's current scores and latest verdict as CSV or Parquet (all
threads or one), and the verdicts as a training CSV for ``analyzer train``."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from analyzer.dashboard import params, resources, widgets
from analyzer.errors import AnalyzerError

ALL = "(all threads)"
MIME = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


def _write(make: Callable[[Path], Any], suffix: str) -> tuple[bytes, Any]:
    """Run an exporter into a temporary file and return its bytes and what it counted."""
    with tempfile.TemporaryDirectory(prefix="thread-analyzer-export-") as tmp:
        path = Path(tmp) / f"export.{suffix}"
        rows = make(path)
        return path.read_bytes(), rows


def render() -> None:
    store = resources.store()
    qp = st.query_params
    st.title("Export")
    threads = store.list_threads(limit=500)
    choices = [ALL, *[r["thread_id"] for r in threads]]
    titles = {r["thread_id"]: r["title"] or r["thread_id"] for r in threads}
    widgets.init_state("ex_thread", params.get_choice(qp, "thread", choices, ALL))
    widgets.init_state("ex_format", params.get_choice(qp, "format", ["csv", "parquet"], "csv"))

    st.subheader("Scores and verdicts")
    c = st.columns([3, 1])
    thread = c[0].selectbox(
        "Threads", choices, key="ex_thread", format_func=lambda t: t if t == ALL else f"{titles[t][:90]} ({t})"
    )
    fmt = widgets.choose(c[1].radio, "Format", ["csv", "parquet"], key="ex_format", horizontal=True)
    if fmt == "csv":
        st.caption(
            "For spreadsheets: a text that would run as a formula (starting with = + - @) gets a leading "
            "apostrophe. Parquet keeps every text exactly as stored."
        )
    if st.button("Prepare the file", key="ex_prepare"):
        try:
            data, rows = _write(lambda p: store.export(p, thread_id=None if thread == ALL else thread), fmt)
        except AnalyzerError as exc:
            widgets.error("The export failed", exc)
        else:
            st.session_state["ex_file"] = (data, rows, fmt, thread)
    if (ready := st.session_state.get("ex_file")) is not None:
        data, rows, f, t = ready
        name = f"thread-analyzer-{'all' if t == ALL else 'thread'}.{f}"
        st.download_button(
            f"Download {rows.describe()} as {f.upper()}",
            data,
            file_name=name,
            mime=MIME[f],
            key="ex_download",
            on_click="ignore",
        )

    st.subheader("Verdicts as training data")
    task = widgets.choose(st.radio, "Task", ["toxicity", "sentiment"], horizontal=True, key="ex_task")
    if st.button("Prepare the training CSV", key="ex_train"):
        try:
            data, rows = _write(lambda p: store.export_training(p, task=task), "csv")
        except AnalyzerError as exc:
            widgets.error("The export failed", exc)
        else:
            st.session_state["ex_training"] = (data, rows, task)
    if (ready := st.session_state.get("ex_training")) is not None:
        data, rows, t = ready
        st.download_button(
            f"Download {rows:,} {t} training row(s)",
            data,
            file_name=f"verdicts-{t}.csv",
            mime="text/csv",
            key="ex_training_download",
            on_click="ignore",
        )
        st.caption(f"Train on it with: analyzer train --task {t} --data verdicts-{t}.csv --out models/my-{t}")

    widgets.set_params({"thread": None if thread == ALL else thread, "format": fmt}, {"format": "csv"})


if __name__ == "__main__":
    render()
