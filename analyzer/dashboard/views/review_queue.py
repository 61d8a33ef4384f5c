"""Review queue: comments the moderation rules flagged (with the reason), then those at or
above a label's threshold (highest first) or in the band where the model is least sure
(closest to the threshold first); approve or remove in one click, or correct the labels,
with a note; or select several (or whole sub-threads) and approve or remove them at once,
with an undo of the last such action. Scoped by source/community and by rule. Verdicts go
to the store and from there to ``analyzer export --verdicts-for-training`` and ``analyzer train``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial
from typing import Any

import streamlit as st

from analyzer.dashboard import nav, params, resources, tree, widgets
from analyzer.dashboard.safe import author_link_html, esc, esc_isolated, md_escape, shorten
from analyzer.errors import AnalyzerError
from analyzer.rules import ALL, canonical_scope
from analyzer.scoring.labels import TOXICITY_LABELS
from analyzer.store import review, scopes
from analyzer.store import rules as store_rules

MODES = {"above": "At or above the threshold", "uncertain": "Uncertain (near the threshold)"}
LIMITS = (10, 25, 50, 100)
NOTE = "rq-note-{}"
SELECT = "rq-sel-{}"
SHOWN = "rq_shown"  # session key: {item key: (thread id, comment id)} of the comments on the page
MODELS_AND_RULES = "models"  # the "rule" choice that shows the model's queue with the rules' flags
ANY_RULE = "any"


def queue_labels(store_models: list[dict[str, Any]]) -> list[str]:
    """Toxicity labels some stored model provides, in canonical order."""
    have = {label for m in store_models for label in (m.get("labels") or [])}
    return [label for label in TOXICITY_LABELS if label in have]


def item_key(thread_id: str, comment_id: str) -> str:
    """A widget key for one queued comment that stays with it as the queue moves."""
    return hashlib.sha256(f"{thread_id}\0{comment_id}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _quick(thread_id: str, comment_id: str, decision: str, index: str) -> None:
    """Button callback: record a one-click verdict before the page redraws (so the comment leaves the queue)."""
    name = widgets.reviewer()
    if not name:
        st.session_state[widgets.FLASH] = (
            "error",
            "Enter your name in the sidebar first: verdicts are recorded under it.",
        )
        return
    note = str(st.session_state.get(NOTE.format(index)) or "").strip() or None
    try:
        resources.store().add_verdict(thread_id, comment_id, reviewer=name, decision=decision, note=note)
    except AnalyzerError as exc:
        st.session_state[widgets.FLASH] = ("error", f"The verdict was not recorded: {exc}")
        return
    st.session_state[widgets.FLASH] = ("success", f"{decision} recorded for comment {comment_id} in {thread_id}.")


def selected() -> list[tuple[str, str]]:
    """The (thread id, comment id) of the comments ticked on the page."""
    shown: dict[str, tuple[str, str]] = st.session_state.get(SHOWN) or {}
    return [pair for key, pair in shown.items() if st.session_state.get(SELECT.format(key))]


def _select_all(value: bool) -> None:
    for key in st.session_state.get(SHOWN) or {}:
        st.session_state[SELECT.format(key)] = value


def _bulk(decision: str) -> None:
    """Button callback: the bulk action on the ticked comments; the ticks cleared when it is recorded."""
    if widgets.bulk_apply(selected(), decision, with_replies=bool(st.session_state.get("rq_subthreads"))):
        _select_all(False)


KEPT = "rq_kept"  # session key: {item key: message} of comments relabelled here, kept in place
MAX_KEPT = 10


def _relabelled(thread_id: str, comment_id: str, verdict_id: int) -> None:
    """After a correction: say so at the top, and keep the comment (and its open panel) where it was."""
    message = f"Verdict {verdict_id} recorded for comment {comment_id} in {thread_id}."
    kept: dict[str, str] = st.session_state.setdefault(KEPT, {})
    kept[item_key(thread_id, comment_id)] = message
    while len(kept) > MAX_KEPT:
        kept.pop(next(iter(kept)))
    st.session_state[widgets.FLASH] = ("success", message)


def with_kept(
    items: list[dict[str, Any]], reviewed: list[dict[str, Any]], kept: set[str], order: Any
) -> list[dict[str, Any]]:
    """The queue with the comments relabelled in this session put back in their places
    (``reviewed``: the queue including reviewed comments), so the page does not shift under the reviewer."""
    have = {item_key(i["thread_id"], i["comment_id"]) for i in items}
    back = [r for r in reviewed if (k := item_key(r["thread_id"], r["comment_id"])) in kept and k not in have]
    return sorted(items + back, key=order)


def bulk_bar(store: Any, items: list[dict[str, Any]]) -> None:
    """Select all / none, approve or remove the ticked comments (or their whole sub-threads)
    at once, and undo the reviewer's last bulk action."""
    with st.container(border=True, key="rq-bulk"):
        c = st.columns([1, 1, 1.6, 1.2, 1.2, 1.6])
        c[0].button("Select all", key="rq-all", on_click=_select_all, args=(True,), disabled=not items)
        c[1].button("Select none", key="rq-none", on_click=_select_all, args=(False,), disabled=not items)
        c[2].toggle("Whole sub-threads", key="rq_subthreads", help="Also every reply below each ticked comment.")
        c[3].button("Approve selected", key="rq-bulk-approve", on_click=_bulk, args=("approve",), disabled=not items)
        c[4].button(
            "Remove selected",
            key="rq-bulk-remove",
            on_click=_bulk,
            args=("remove",),
            type="primary",
            disabled=not items,
        )
        with c[5]:
            widgets.undo_button(store, "rq-undo")


def item_header(item: dict[str, Any], label: str) -> str:
    """One queued comment's head as one HTML block (one element, not eight: the queue shows
    dozens): its score, who and when, where, links to its Comment and Authors pages, and the
    rules' reasons. Every value from the store is escaped."""
    score = item["score"]
    colour = tree.score_colour(score) if score is not None else "#6b7280"
    when = item["created_at"].strftime("%Y-%m-%d %H:%M") if item["created_at"] else "no time"
    author_href = tree.author_href(item["author"], item["thread_id"], resources.link_thresholds())
    author = author_link_html(item["author"], author_href) if item["author"] else "<i>anonymous</i>"
    comment_href = tree.comment_href(item["thread_id"], item["comment_id"], {"label": label})
    where = ["thread " + esc_isolated(item["thread_id"]), "comment " + esc_isolated(item["comment_id"])]
    meta = " · ".join([author, esc(when), f"depth {int(item['depth'])}", *where])
    reasons = "".join(f'<div class="ta-reason">Flagged: {esc_isolated(r)}</div>' for r in item["reasons"])
    return (
        '<div class="ta-queue-head" style="display:flex;gap:12px;align-items:center">'
        f'<div style="background:{colour};color:#fff;text-align:center;border-radius:6px;padding:6px 10px;'
        f'font-weight:600;min-width:3em">{"—" if score is None else f"{score:.2f}"}</div>'
        f'<div style="flex:1"><div style="color:#4b5563;font-size:0.9em">{meta} · '
        f'<a class="ta-open" href="{esc(comment_href)}" target="_self">Open comment</a></div>{reasons}</div></div>'
    )


def scope_picker(store: Any, linked: str) -> str:
    """The queue's scope box: entries picked from the store's formats, communities and
    sources, or typed (``source:exports/*.csv``, ``thread:ID``, a bare prefix). The scope
    as stored text, one entry a line; "" for every thread."""
    linked_entries = [] if (c := canonical_scope(linked)) == ALL else c.splitlines()
    widgets.init_state("rq_scope", linked_entries)
    offered = list(dict.fromkeys([*scopes.offered_scopes(store), *st.session_state["rq_scope"]]))
    chosen = st.multiselect(
        "Scope (community, source or format)",
        offered,
        key="rq_scope",
        accept_new_options=True,
        placeholder="every thread",
        help="Only these threads. Pick from this store's communities, sources and formats, or type "
        "thread:ID, source:GLOB (e.g. source:exports/*.csv), format:NAME, community:ID; "
        "a bare text is a prefix of the thread's id, source or format.",
    )
    return canonical_scope("\n".join(chosen)) if chosen else ""


@dataclass
class Choice:
    """What the page's controls ask the queue for (and carry in the link)."""

    label: str
    mode: str
    threshold: float
    default_threshold: float
    band: float
    limit: int
    only_thread: str | None
    rule_choice: str
    rule: int | str | None
    scope: str


def controls(store: Any, labels: list[str], store_models: list[dict[str, Any]]) -> Choice:
    """The label, mode, threshold, band, size, rule and scope pickers, started from the link."""
    qp = st.query_params
    model_thresholds = {}
    for m in store_models:
        model_thresholds.update({k: float(v) for k, v in (m.get("thresholds") or {}).items()})
    thresholds = resources.thresholds_for(model_thresholds)

    widgets.init_state(
        "rq_label", params.get_choice(qp, "label", labels, "toxicity" if "toxicity" in labels else labels[0])
    )
    widgets.init_state("rq_mode", params.get_choice(qp, "mode", list(MODES), "above"))
    widgets.init_state("rq_band", params.get_float(qp, "band", 0.1, 0.0, 0.5))
    widgets.init_state("rq_limit", params.get_choice(qp, "n", LIMITS, 25))
    c = st.columns([1, 1.4, 1.2, 1, 0.8])
    label = widgets.choose(c[0].selectbox, "Label", labels, key="rq_label")
    mode = c[1].radio("Show", list(MODES), format_func=MODES.get, key="rq_mode")
    default_threshold = float(thresholds.get(label, 0.5))
    threshold_key = f"rq_threshold_{label}"
    linked = params.get_str(qp, "label", label) == label
    widgets.init_state(
        threshold_key, params.get_float(qp, "threshold", default_threshold) if linked else default_threshold
    )
    threshold = c[2].slider(f"Threshold for {label}", 0.0, 1.0, step=0.01, key=threshold_key)
    band = c[3].slider("Band (±)", 0.0, 0.5, step=0.01, key="rq_band", disabled=mode != "uncertain")
    limit = widgets.choose(c[4].selectbox, "Show at most", LIMITS, key="rq_limit")
    rules = {str(r["id"]): r for r in store_rules.list_rules(store) if r["enabled"]}
    rule_choices = [MODELS_AND_RULES, ANY_RULE, *rules]
    rule_names = {MODELS_AND_RULES: "Models and rules", ANY_RULE: "Any rule only"} | {
        k: f"Rule: {shorten(r['name'], 60)}" for k, r in rules.items()
    }
    widgets.init_state("rq_rule", params.get_choice(qp, "rule", rule_choices, MODELS_AND_RULES))
    f = st.columns([1.2, 2])
    rule_choice = widgets.choose(f[0].selectbox, "Flagged by", rule_choices, format_func=rule_names.get, key="rq_rule")
    with f[1]:
        scope = scope_picker(store, params.get_str(qp, "scope", "") or "")
    return Choice(
        label=label,
        mode=str(mode),
        threshold=threshold,
        default_threshold=default_threshold,
        band=band,
        limit=limit,
        only_thread=params.get_str(qp, "thread"),
        rule_choice=rule_choice,
        rule=None if rule_choice == MODELS_AND_RULES else (ANY_RULE if rule_choice == ANY_RULE else int(rule_choice)),
        scope=scope,
    )


def queue_items(store: Any, choice: Choice, kept: dict[str, str]) -> list[dict[str, Any]]:
    """The comments to show, most urgent first; those reviewed on this page this session
    (``kept``) stay in their places so the queue does not shift under the reviewer."""
    band = choice.band if choice.mode == "uncertain" else None
    filters = {"thread_id": choice.only_thread, "scope": choice.scope or None, "rule": choice.rule}
    items = review.queue(store, choice.label, choice.threshold, band, limit=choice.limit, **filters)
    if not kept:
        return items
    reviewed = review.queue(
        store, choice.label, choice.threshold, band, limit=choice.limit + len(kept), include_reviewed=True, **filters
    )
    position = {item_key(r["thread_id"], r["comment_id"]): n for n, r in enumerate(reviewed)}
    return with_kept(items, reviewed, set(kept), lambda r: position.get(item_key(r["thread_id"], r["comment_id"]), 0))


def item_card(store: Any, item: dict[str, Any], label: str, labels: list[str], kept: dict[str, str]) -> None:
    """One queued comment: its header and text, a note, Approve/Remove, and the relabel panel."""
    i = item_key(item["thread_id"], item["comment_id"])
    with st.container(border=True, key=f"rq-item-{i}"):
        head = st.columns([0.3, 5], vertical_alignment="center")
        head[0].checkbox("Select", key=SELECT.format(i), label_visibility="collapsed")
        head[1].html(item_header(item, label))  # every stranger's string escaped
        st.text(item["text"][:3000] + ("…" if len(item["text"]) > 3000 else ""))
        row = st.columns([3, 1, 1])
        row[0].text_input(
            "Note",
            key=NOTE.format(i),
            label_visibility="collapsed",
            placeholder="note (optional)",
            max_chars=10_000,
        )
        row[1].button(
            "Approve",
            key=f"rq-approve-{i}",
            on_click=_quick,
            width="stretch",
            args=(item["thread_id"], item["comment_id"], "approve", i),
        )
        row[2].button(
            "Remove",
            key=f"rq-remove-{i}",
            on_click=_quick,
            type="primary",
            width="stretch",
            args=(item["thread_id"], item["comment_id"], "remove", i),
        )
        if i in kept:
            st.success(md_escape(kept[i] + " Kept in its place for this session, so the queue does not shift."))
        # keyed by the comment: an open panel stays with its comment when others leave the
        # queue; its form is built only while it is open (a closed one costs the page nothing)
        panel = st.expander("Correct the labels…", key=f"rq-panel-{i}", on_change="rerun")
        if panel.open:
            with panel:
                widgets.verdict_form(
                    store,
                    item["thread_id"],
                    item["comment_id"],
                    labels=labels,
                    key=f"rq-{i}",
                    on_saved=partial(_relabelled, item["thread_id"], item["comment_id"]),
                )


def render() -> None:
    store = resources.store()
    st.title("Review queue")
    store_models = store.models()
    labels = queue_labels(store_models)
    if not labels:
        st.info("Nothing to review: no thread has been scored for toxicity yet.")
        st.page_link(nav.page("import"), label="Import and score threads")
        return
    choice = controls(store, labels, store_models)

    widgets.flash()
    if not widgets.reviewer():
        st.warning("Enter your name in the sidebar to record verdicts.")

    kept: dict[str, str] = st.session_state.get(KEPT) or {}
    items = queue_items(store, choice, kept)
    where = f" in thread {choice.only_thread}" if choice.only_thread else ""
    where += f" in scope {', '.join(choice.scope.splitlines())}" if choice.scope else ""
    flagged = sum(1 for i in items if i["reasons"])
    st.caption(
        md_escape(
            f"{len(items)} comment(s) without a verdict{where}, most urgent first "
            f"({flagged} flagged by rules); scored by {items[0]['model'] or 'no model' if items else 'the newest model for this label'}."
        )
    )
    bulk_bar(store, items)
    st.session_state[SHOWN] = {
        item_key(i["thread_id"], i["comment_id"]): (i["thread_id"], i["comment_id"]) for i in items
    }
    for item in items:
        item_card(store, item, choice.label, labels, kept)
    if not items:
        st.success("The queue is empty at this threshold.")

    widgets.set_params(
        {
            "label": choice.label,
            "mode": choice.mode,
            "threshold": round(choice.threshold, 2),
            "band": choice.band,
            "n": choice.limit,
            "thread": choice.only_thread,
            "rule": choice.rule_choice,
            "scope": choice.scope or None,
        },
        {
            "mode": "above",
            "threshold": round(choice.default_threshold, 2),
            "band": 0.1,
            "n": 25,
            "rule": MODELS_AND_RULES,
        },
    )


if __name__ == "__main__":
    render()
