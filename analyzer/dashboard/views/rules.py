"""Rules and alerts: moderation rules beside the models (banned and suspect words, regular
expressions, links, new authors), each scoped to all threads or to explicit threads,
communities, source globs or formats, and the webhooks that alerts are POSTed to. Rules run on every import;
"Re-run rules" applies edited rules to everything stored. Every rule's name, pattern and
scope is a stranger's string here too: shown through ``st.dataframe``, widget values or
``md_escape``, never as HTML. Webhook secrets are never shown: the list says where each
lives (encrypted, or ``env:NAME``); a secret made here is shown once, right after saving."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analyzer.alerts import describe_secret
from analyzer.dashboard import nav, resources, widgets
from analyzer.dashboard.safe import md_escape, shorten
from analyzer.errors import AnalyzerError
from analyzer.rules import KIND_HELP, KINDS, SCOPE_HELP, SEVERITIES, Rule
from analyzer.store import alerts as store_alerts
from analyzer.store import rules as store_rules

MESSAGE = "rules_message"
MADE_SECRET = "rules_made_secret"


def _flash(kind: str, text: str) -> None:
    st.session_state[MESSAGE] = (kind, text)


def _save(rule_id: int | None, prefix: str) -> None:
    """Form callback: store the rule from the form's widgets."""
    get = st.session_state.get
    rule = Rule(
        id=rule_id,
        name=str(get(f"{prefix}-name") or ""),
        kind=str(get(f"{prefix}-kind") or "words"),
        severity=str(get(f"{prefix}-severity") or "suspect"),
        pattern=str(get(f"{prefix}-pattern") or ""),
        scope=str(get(f"{prefix}-scope") or "all"),
        enabled=bool(get(f"{prefix}-enabled", True)),
    )
    try:
        saved = store_rules.save_rule(resources.store(), rule)
    except AnalyzerError as exc:
        _flash("error", f"The rule was not saved: {exc}")
        return
    _flash("success", f"Rule {saved} saved. Run the rules again to apply it to comments already stored.")


def _delete(rule_id: int) -> None:
    store_rules.remove_rule(resources.store(), rule_id)
    _flash("success", f"Rule {rule_id} and its flags deleted.")


def _rerun() -> None:
    try:
        done = store_rules.rerun_rules(resources.store())
    except AnalyzerError as exc:
        _flash("error", f"The rules did not run: {exc}")
        return
    _flash(
        "success",
        f"Rules run over {done['comments']:,} comment(s): {done['hits']:,} flag(s), {done['new']:,} new, "
        f"{done['dropped']:,} of disabled or deleted rules dropped.",
    )


def rule_form(rule: dict[str, Any] | None, prefix: str) -> None:
    """The fields of one rule (a new one when ``rule`` is None)."""
    rule = rule or {}
    with st.form(prefix, border=False):
        c = st.columns([2, 1, 1, 1])
        c[0].text_input("Name", value=rule.get("name", ""), key=f"{prefix}-name", max_chars=200)
        kinds = list(KINDS)
        c[1].selectbox(
            "Kind",
            kinds,
            index=kinds.index(rule.get("kind", "words")),
            key=f"{prefix}-kind",
            format_func=lambda k: k.replace("_", " "),
        )
        severities = list(SEVERITIES)
        c[2].selectbox(
            "Severity", severities, index=severities.index(rule.get("severity", "suspect")), key=f"{prefix}-severity"
        )
        c[3].checkbox("Enabled", value=bool(rule.get("enabled", True)), key=f"{prefix}-enabled")
        st.text_area(
            "Words, patterns or allowed domains (one a line)",
            value=rule.get("pattern", ""),
            key=f"{prefix}-pattern",
            height=100,
            max_chars=100_000,
            help="; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in KIND_HELP.items()),
        )
        st.text_area(
            "Scope: 'all', or one a line: thread:ID, community:ID, source:GLOB (e.g. source:exports/*.csv), "
            "format:NAME",
            value=rule.get("scope", "all"),
            key=f"{prefix}-scope",
            height=68,
            max_chars=2000,
            help=SCOPE_HELP,
        )
        st.form_submit_button("Save rule", type="primary", on_click=_save, args=(rule.get("id"), prefix))


def _add_webhook() -> None:
    get = st.session_state.get
    given = str(get("wh-secret") or "").strip()
    secret = given or store_alerts.new_secret()
    try:
        hook_id = store_alerts.save_webhook(
            resources.store(),
            name=str(get("wh-name") or ""),
            url=str(get("wh-url") or "").strip(),
            secret=secret,
            risk_threshold=float(st.session_state["wh-risk"]) if get("wh-use-risk") else None,  # the form's numbers
            toxic_share_threshold=float(st.session_state["wh-share"]) if get("wh-use-share") else None,
            on_rule_hits=bool(get("wh-hits", True)),
            scope=str(get("wh-scope") or "all"),
        )
    except AnalyzerError as exc:
        _flash("error", f"The webhook was not saved: {exc}")
        return
    st.session_state["wh-secret"] = ""  # not kept in the form
    if given:
        _flash("success", f"Webhook {hook_id} saved; its secret is stored encrypted (or as the env: name given).")
        return
    _flash("success", f"Webhook {hook_id} saved. Copy its shared secret now for the receiver: it is not shown again.")
    st.session_state[MADE_SECRET] = secret


def rules_section() -> None:
    store = resources.store()
    rules = store_rules.list_rules(store)
    st.subheader("Rules")
    st.caption("Rules run on every import (and on API traffic) and flag comments for the review queue with the reason.")
    if rules:
        table = pd.DataFrame(
            [
                {
                    "id": r["id"],
                    "name": r["name"],
                    "kind": r["kind"].replace("_", " "),
                    "severity": r["severity"],
                    "scope": r["scope"].replace("\n", ", "),
                    "enabled": r["enabled"],
                    "flagged": r["hits"],
                }
                for r in rules
            ]
        )
        st.dataframe(table, hide_index=True, width="stretch")
        for r in rules:
            with st.expander(md_escape(f"Edit rule {r['id']}: {shorten(r['name'], 80)}"), key=f"rule-panel-{r['id']}"):
                rule_form(r, f"rule-{r['id']}")
                st.button("Delete this rule", key=f"rule-del-{r['id']}", on_click=_delete, args=(r["id"],))
        c = st.columns([1, 3])
        c[0].button("Re-run rules", key="rules-rerun", type="primary", on_click=_rerun)
        c[1].page_link(nav.page("review"), label="Open the review queue (flagged comments first)")
    else:
        st.info("No rules yet: add one below.")
    with st.expander("Add a rule", expanded=not rules, key="rule-panel-new"):
        rule_form(None, "rule-new")


def webhooks_section() -> None:
    store = resources.store()
    st.subheader("Alerts")
    st.caption(
        "When an import (or API traffic) makes a thread's risk or toxic share cross a threshold, or brings newly "
        "flagged comments, a signed JSON POST goes to each webhook (header X-Thread-Analyzer-Signature-256: "
        "HMAC-SHA256 of '<X-Thread-Analyzer-Timestamp>.<body>' under the shared secret), retried with backoff. "
        "Recent alerts are on the Overview."
    )
    hooks = store_alerts.list_webhooks(store)
    if (made := st.session_state.pop(MADE_SECRET, None)) is not None:
        st.code(made, language=None)  # once, right after it was made; the store keeps it encrypted
    if hooks:
        table = pd.DataFrame(
            [
                {
                    "id": h["id"],
                    "name": h["name"],
                    "url": h["url"],
                    "risk ≥": h["risk_threshold"],
                    "toxic share ≥": h["toxic_share_threshold"],
                    "rule flags": h["on_rule_hits"],
                    "scope": h["scope"].replace("\n", ", "),
                    "enabled": h["enabled"],
                    "secret": "•" * 8,
                    "secret kept": describe_secret(h["secret"]),
                }
                for h in hooks
            ]
        )
        st.dataframe(table, hide_index=True, width="stretch")
        c = st.columns([2, 1, 1])
        labels = {h["id"]: f"{h['id']}: {shorten(h['name'], 60)}" for h in hooks}
        chosen = widgets.choose(c[0].selectbox, "Webhook", list(labels), format_func=labels.get, key="wh-chosen")
        hook = next(h for h in hooks if h["id"] == chosen)
        c[1].button(
            "Disable" if hook["enabled"] else "Enable",
            key="wh-toggle",
            on_click=lambda: store_alerts.set_webhook_enabled(store, chosen, not hook["enabled"]),
        )
        c[2].button("Delete", key="wh-delete", on_click=lambda: store_alerts.remove_webhook(store, chosen))
    with st.expander("Add a webhook", expanded=not hooks, key="wh-panel-new"), st.form("wh-form", border=False):
        c = st.columns([1, 2])
        c[0].text_input("Name", key="wh-name", max_chars=200)
        c[1].text_input("URL (http:// or https://)", key="wh-url", max_chars=2000)
        st.text_input(
            "Shared secret (at least 16 characters, stored encrypted; or env:NAME to read it from the "
            "environment variable NAME where alerts are sent; empty: one is made and shown once)",
            key="wh-secret",
            type="password",
            max_chars=500,
        )
        n = st.columns(4)
        n[0].checkbox("On risk", key="wh-use-risk")
        n[1].number_input("Risk at least", 0.0, 1.0, 0.6, 0.05, key="wh-risk")
        n[2].checkbox("On toxic share", value=True, key="wh-use-share")
        n[3].number_input("Toxic share at least", 0.0, 1.0, 0.3, 0.05, key="wh-share")
        st.checkbox("On newly flagged comments", value=True, key="wh-hits")
        st.text_input(
            "Scope ('all', or thread:ID, community:ID, source:GLOB, format:NAME; commas between)",
            value="all",
            key="wh-scope",
            max_chars=2000,
            help=SCOPE_HELP,
        )
        st.form_submit_button("Save webhook", type="primary", on_click=_add_webhook)


def render() -> None:
    st.title("Rules and alerts")
    if (message := st.session_state.pop(MESSAGE, None)) is not None:
        kind, text = message
        (st.error if kind == "error" else st.success)(md_escape(text))
    if resources.store().read_only is not None:
        widgets.error("The store is read-only here: rules and webhooks cannot be changed")
    rules_section()
    webhooks_section()


if __name__ == "__main__":
    render()
