"""Models page: which models score, their cards and validation metrics, and per-label
thresholds the community can tune, with precision and recall at the chosen threshold
(from the model's validation measurements and from the reviewers' verdicts).

Tuned thresholds apply to this session's Thread, Comment and Review pages, and travel in
the link (``t_<label>``); the stored per-thread statistics keep the models' own thresholds.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analyzer.dashboard import params, resources, thresholds, widgets
from analyzer.dashboard.safe import md_escape


def _headline(meta: dict[str, Any]) -> str:
    metrics = meta.get("metrics") or {}
    parts = [
        f"{k.replace('_', ' ')} {metrics[k]:.3f}"
        for k in ("mean_roc_auc", "mean_macro_f1", "macro_recall", "macro_f1", "accuracy")
        if isinstance(metrics.get(k), (int, float))
    ]
    return " · ".join(parts)


def _model_header(clf: Any, meta: dict[str, Any]) -> None:
    st.header(md_escape(clf.name))
    st.caption(
        md_escape(
            f"{clf.version} · task {clf.task} · "
            f"{'multi-label' if clf.multi_label else 'single-label'} · labels {', '.join(clf.labels)}"
            + (f" · base {meta['base_model']}" if meta.get("base_model") else "")
        )
    )
    if headline := _headline(meta):
        st.caption("Validation: " + md_escape(headline))


def _class_metrics(meta: dict[str, Any]) -> None:
    """Softmax classes: the most likely one wins, there is no threshold to tune; show the
    per-class validation metrics instead."""
    per = (meta.get("metrics") or {}).get("labels") or {}
    if not per:
        st.caption("No validation metrics in this model's analyzer.json.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {"label": k, **{m: v for m, v in row.items() if not isinstance(v, (list, dict))}}
                for k, row in per.items()
                if isinstance(row, dict)
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def _threshold_row(store: Any, clf: Any, meta: dict[str, Any], label: str, tuned: dict[str, float]) -> None:
    """One label's threshold slider, with precision and recall there from the model's
    validation and from the reviewers' verdicts; a value off the model's own is kept in
    ``tuned``."""
    own = float(clf.thresholds.get(label, thresholds.DEFAULT_THRESHOLD))
    key = f"md_t_{label}"
    widgets.init_state(key, float(tuned.get(label, own)))
    cols = st.columns([2, 1, 1, 1, 1])
    value = cols[0].slider(f"{label} threshold (model's own: {own:.2f})", 0.0, 1.0, step=0.01, key=key)
    if abs(value - own) > 1e-9:
        tuned[label] = value
    else:
        tuned.pop(label, None)
    val = thresholds.validation_pr(meta, label, value)
    community = thresholds.from_pairs(store.verdict_scores(label), value)
    cols[1].metric(
        "Validation precision",
        "—" if val is None or val.precision is None else f"{val.precision:.2f}",
        help=None if val else "The model's metrics hold no precision/recall at this threshold.",
    )
    cols[2].metric("Validation recall", "—" if val is None or val.recall is None else f"{val.recall:.2f}")
    cols[3].metric(
        "Reviewers' precision",
        "—" if community is None or community.precision is None else f"{community.precision:.2f}",
        help="Against the verdicts recorded in this store" + (f" ({community.n})" if community else ""),
    )
    cols[4].metric(
        "Reviewers' recall", "—" if community is None or community.recall is None else f"{community.recall:.2f}"
    )


def _stored_models(store: Any) -> None:
    st.header("Models in the store")
    stored = store.models()
    if not stored:
        st.caption("No model has scored anything in this store yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "name": m["name"],
                    "fingerprint": m["fingerprint"],
                    "task": m["task"],
                    "labels": ", ".join(m["labels"] or []),
                    "thresholds": ", ".join(f"{k} {v:.2f}" for k, v in (m["thresholds"] or {}).items()),
                    "first seen": m["first_seen"],
                }
                for m in stored
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def render() -> None:
    store = resources.store()
    loaded = resources.models()
    st.title("Models")
    if loaded.error:
        st.warning(md_escape(loaded.error))
    tuned: dict[str, float] = st.session_state.setdefault(resources.TUNED, {})
    tuned.update(params.thresholds_from(st.query_params, loaded.labels()))

    for clf in loaded.classifiers:
        meta = loaded.meta.get(clf.fingerprint, {})
        _model_header(clf, meta)
        if not clf.multi_label:
            _class_metrics(meta)
        for label in clf.labels if clf.multi_label else []:
            _threshold_row(store, clf, meta, label, tuned)
        if clf.card:
            with st.expander("Model card"):
                st.markdown(clf.card)  # the model folder's own README (ours for the shipped models)

    if tuned and st.button("Reset to the models' thresholds"):
        tuned.clear()
        for key in [k for k in st.session_state if str(k).startswith("md_t_")]:
            del st.session_state[key]
        st.rerun()

    _stored_models(store)
    widgets.set_params({params.threshold_key(k): round(v, 2) for k, v in sorted(tuned.items())})


if __name__ == "__main__":
    render()
