"""Webhook alerts against a real HTTP receiver on 127.0.0.1: a thread crossing its toxic
share or risk threshold and newly rule-flagged comments (from an import and from the API
service's store_traffic) are POSTed after the transaction commits, signed (HMAC-SHA256 over
timestamp and body), retried with backoff after a 500, never retried after a 4xx, bounded
in attempts, every attempt logged; a rolled-back import delivers nothing; an import does
not wait for a slow receiver. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select
from store_helpers import model_info, scored

from analyzer import alerts as signing
from analyzer.rules import Rule
from analyzer.store import Store
from analyzer.store import alerts as store_alerts
from analyzer.store import rules as store_rules
from analyzer.store import schema as t
from analyzer.store.importing import ImportBatch
from analyzer.thread import Comment, Thread

pytest_plugins = ["conftest_store"]

SECRET = "s3cret-shared-with-the-receiver"


class Receiver:
    """An HTTP server answering each POST with the next status in ``statuses`` (then 200),
    after ``delay`` seconds, and keeping what it got."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.delay = 0.0
        self.got: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver.lock:
                    receiver.got.append({"headers": dict(self.headers), "body": body})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def store(store_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[Store]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(signing.ENV_SECRET_KEY_FILE, str(tmp_path / "config" / "secret.key"))
    monkeypatch.delenv(signing.ENV_SECRET_KEY, raising=False)
    monkeypatch.setenv(signing.ENV_BACKOFF, "0.01")
    monkeypatch.setenv(signing.ENV_ATTEMPTS, "3")
    with Store.open(store_url) as s:
        yield s
        store_alerts.deliverer(s.engine).join(30)


def hook(store: Store, receiver: Receiver, **values: Any) -> int:
    values = {"name": "mods", "url": receiver.url, "secret": SECRET, "toxic_share_threshold": 0.5, **values}
    return store_alerts.save_webhook(store, **values)


def talk(tid: str, texts: dict[str, str], source: str = "talk.jsonl") -> Thread:
    return Thread.build(tid, [Comment(cid, x, author=f"a-{cid}") for cid, x in texts.items()], source=source)


def load(store: Store, th: Thread, toxicity: dict[str, float]) -> None:
    scores = {cid: {"toxicity": v} for cid, v in toxicity.items()}
    store.import_threads([th], scored(th, scores), source=th.source or "x", models=[model_info()])


def delivered(store: Store) -> None:
    assert store_alerts.deliverer(store.engine).join(30), "delivery still running after 30 s"


def attempts(store: Store) -> list[tuple[int, int | None, bool]]:
    with store.read() as conn:
        rows = conn.execute(
            select(t.alert_attempts.c.attempt, t.alert_attempts.c.status_code, t.alert_attempts.c.ok).order_by(
                t.alert_attempts.c.id
            )
        )
        return [tuple(r) for r in rows]


def test_crossing_and_rule_hits_are_posted_signed_after_commit(store: Store, receiver: Receiver) -> None:
    hook(store, receiver)
    store_rules.save_rule(store, Rule("Insults", "words", "banned", "idiot"))
    load(store, talk("t1", {"a": "hello", "b": "fine"}), {"a": 0.1, "b": 0.2})  # below: nothing
    delivered(store)
    assert receiver.got == []

    load(store, talk("t1", {"a": "hello", "b": "fine", "c": "you idiot", "d": "ugh"}), {"c": 0.9, "d": 0.8})
    delivered(store)
    by_event = {r["headers"][signing.EVENT]: r for r in receiver.got}
    assert set(by_event) == {"toxic_share", "rule_hits"}
    for r in receiver.got:  # what a receiver checks
        h = r["headers"]
        assert signing.verify(SECRET, h[signing.TIMESTAMP], r["body"], h[signing.SIGNATURE])
        assert not signing.verify(
            "another secret, same length!!", h[signing.TIMESTAMP], r["body"], h[signing.SIGNATURE]
        )
    share = json.loads(by_event["toxic_share"]["body"])
    assert share["thread"]["id"] == "t1" and share["threshold"] == 0.5 and share["value"] == 0.5
    assert share["previous"] == 0.0
    flagged = json.loads(by_event["rule_hits"]["body"])
    assert flagged["hits_total"] == 1 and flagged["hits"][0]["comment_id"] == "c"
    assert flagged["hits"][0]["reason"] == "banned word 'idiot' (rule 'Insults')"
    with store.read() as conn:
        recent = store_alerts.recent(conn)
    assert {r["status"] for r in recent} == {"delivered"} and len(recent) == 2
    assert attempts(store) == [(1, 200, True), (1, 200, True)]

    # still above the threshold, nothing new flagged: no second alert
    load(store, talk("t1", {"a": "hello", "b": "fine", "c": "you idiot", "d": "ugh", "e": "x"}), {"e": 0.9})
    delivered(store)
    assert len(receiver.got) == 2


def test_retries_after_a_500_and_gives_up_after_a_4xx_or_the_last_attempt(store: Store, receiver: Receiver) -> None:
    hook(store, receiver)
    receiver.statuses = [500, 200]
    load(store, talk("t1", {"a": "x"}), {"a": 0.9})
    delivered(store)
    assert attempts(store) == [(1, 500, False), (2, 200, True)]
    assert len(receiver.got) == 2 and receiver.got[0]["body"] == receiver.got[1]["body"]  # the same payload

    receiver.statuses = [400]
    load(store, talk("t2", {"a": "x"}), {"a": 0.9})
    delivered(store)
    assert attempts(store)[2:] == [(1, 400, False)]  # refused: not retried

    receiver.statuses = [503, 502, 500, 500]
    load(store, talk("t3", {"a": "x"}), {"a": 0.9})
    delivered(store)
    assert attempts(store)[3:] == [(1, 503, False), (2, 502, False), (3, 500, False)]  # bounded: 3 attempts
    with store.read() as conn:
        statuses = {r["thread_id"]: (r["status"], r["attempts"]) for r in store_alerts.recent(conn)}
    assert statuses == {"t1": ("delivered", 2), "t2": ("failed", 1), "t3": ("failed", 3)}


def test_a_rolled_back_import_delivers_nothing(store: Store, receiver: Receiver) -> None:
    from analyzer.store.importing import Importer

    hook(store, receiver)
    th = talk("t1", {"a": "x"})
    with pytest.raises(RuntimeError), store.write() as conn:
        Importer(conn, [model_info()]).run([ImportBatch([th], scored(th, {"a": {"toxicity": 0.9}}), source="x")])
        assert conn.execute(select(func.count()).select_from(t.alerts)).scalar() == 1  # in the outbox...
        raise RuntimeError("the import failed after writing")
    assert store_alerts.deliverer(store.engine).drain() == 0  # ...gone with the rollback
    delivered(store)
    assert receiver.got == []
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(t.alerts)).scalar() == 0


def test_the_import_does_not_wait_for_a_slow_receiver(store: Store, receiver: Receiver) -> None:
    hook(store, receiver)
    receiver.delay = 3.0
    start = time.monotonic()
    load(store, talk("t1", {"a": "x"}), {"a": 0.9})
    assert time.monotonic() - start < 2.5  # committed and returned while the receiver still sleeps
    delivered(store)
    assert len(receiver.got) == 1 and attempts(store) == [(1, 200, True)]


def test_api_traffic_raises_alerts_in_scope(store: Store, receiver: Receiver) -> None:
    from analyzer.store.api import store_traffic

    hook(store, receiver, toxic_share_threshold=None, scope="community:X")
    store_rules.save_rule(store, Rule("Links", "link", "suspect"))
    for tid in ("api:community:X", "api:community:Y"):
        th = Thread.build(tid, [Comment("c1", "buy at http://spam.biz", author="bot")], source="api", format="api")
        store_traffic(store, ImportBatch([th], scored(th, {}), source="api", format="api"), models=[model_info()])
    delivered(store)
    assert len(receiver.got) == 1  # Y is out of the webhook's scope
    payload = json.loads(receiver.got[0]["body"])
    assert payload["event"] == "rule_hits" and payload["thread"]["id"] == "api:community:X"
    assert "spam.biz" in payload["hits"][0]["reason"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"url": "ftp://x.org/"}, "http:// or https://"),
        ({"secret": "short"}, "at least 16"),
        ({"risk_threshold": 1.5}, "between 0 and 1"),
    ],
)
def test_bad_webhooks_are_refused(store: Store, receiver: Receiver, values: dict[str, Any], message: str) -> None:
    from analyzer.errors import AnalyzerError

    with pytest.raises(AnalyzerError, match=message):
        hook(store, receiver, **values)


def test_overview_lists_recent_alerts_with_their_delivery(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import streamlit as st
    from dashboard_data import open_page
    from streamlit.testing.v1 import AppTest

    from analyzer.dashboard import nav

    monkeypatch.setenv(signing.ENV_SECRET_KEY_FILE, str(tmp_path / "secret.key"))
    monkeypatch.setenv(signing.ENV_ATTEMPTS, "1")
    db = tmp_path / "store.db"
    down = Receiver()
    down.close()  # nothing listens there any more: the delivery fails, and says so
    with Store.open(db) as s:
        hook(s, down, name="<b>mods</b>")
        load(s, talk("t1", {"a": "x"}), {"a": 0.9})
        delivered(s)
    monkeypatch.setenv("THREAD_ANALYZER_DB", str(db))
    monkeypatch.setenv("THREAD_ANALYZER_MODELS", str(tmp_path / "no-models"))
    st.cache_resource.clear()
    at = open_page(AppTest.from_file(str(nav.VIEWS.parents[2] / "app.py"), default_timeout=120), "overview")
    st.cache_resource.clear()
    assert [s.value for s in at.subheader if s.value == "Recent alerts"]
    (table,) = [d.value for d in at.dataframe if "event" in d.value.columns]
    row = table.iloc[0]
    assert (row["event"], row["thread"], row["webhook"], row["status"], row["attempts"]) == (
        "toxic share",
        "t1",
        "<b>mods</b>",  # a cell, shown as text
        "failed",
        1,
    )
    assert "ConnectError" in row["last error"]


# ---------------------------------------------------------------------------- secrets at rest
def stored_secrets(store: Store) -> list[str]:
    with store.read() as conn:
        return list(conn.execute(select(t.webhooks.c.secret).order_by(t.webhooks.c.id)).scalars())


def test_secrets_are_stored_encrypted_under_a_key_outside_the_database(
    store: Store, receiver: Receiver, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import os
    import stat

    hook(store, receiver)
    (sealed,) = stored_secrets(store)
    assert sealed.startswith(signing.ENCRYPTED) and SECRET not in sealed
    key = tmp_path / "config" / "secret.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600  # made on first use, for its owner only
    assert signing.reveal(sealed) == SECRET
    load(store, talk("t1", {"a": "x"}), {"a": 0.9})
    delivered(store)
    h = receiver.got[0]["headers"]
    assert signing.verify(SECRET, h[signing.TIMESTAMP], receiver.got[0]["body"], h[signing.SIGNATURE])
    with store.read() as conn:  # the dashboard's list: the sealed value, never the secret
        assert all(SECRET not in str(v) for w in store_alerts.webhook_list(conn) for v in w.values())

    from cryptography.fernet import Fernet

    key.write_text(Fernet.generate_key().decode())  # another key: says so, sends nothing
    load(store, talk("t2", {"a": "x"}), {"a": 0.9})
    delivered(store)
    key.write_text("not a key")
    load(store, talk("t3", {"a": "x"}), {"a": 0.9})
    delivered(store)
    with store.read() as conn:
        failed = {a["thread_id"]: a["last_error"] for a in store_alerts.recent(conn, status="failed")}
    assert "does not decrypt with this key" in failed["t2"] and "is not a Fernet key" in failed["t3"]
    assert len(receiver.got) == 1 and SECRET not in str(failed)


def test_a_plaintext_secret_from_an_older_version_still_signs_and_is_encrypted_on_the_next_write(
    store: Store, receiver: Receiver
) -> None:
    from datetime import datetime, timezone

    from sqlalchemy import insert

    with store.write() as conn:  # as the first version stored it
        conn.execute(
            insert(t.webhooks).values(
                name="old",
                url=receiver.url,
                secret=SECRET,
                toxic_share_threshold=0.5,
                on_rule_hits=True,
                scope="api:community:X",
                enabled=True,
                created_at=datetime.now(timezone.utc),
            )
        )
    load(store, Thread.build("api:community:X", [Comment("c", "x")], source="api", format="api"), {"c": 0.9})
    delivered(store)
    h = receiver.got[0]["headers"]  # the old bare scope kept its meaning, the plaintext secret signs
    assert signing.verify(SECRET, h[signing.TIMESTAMP], receiver.got[0]["body"], h[signing.SIGNATURE])
    with store.read() as conn:
        (old,) = store_alerts.webhook_list(conn)
    assert old["scope"] == "prefix:api:community:X" and old["secret"] == SECRET

    store_alerts.set_webhook_enabled(store, old["id"], True)  # any write seals what older versions left
    (sealed,) = stored_secrets(store)
    assert sealed.startswith(signing.ENCRYPTED) and signing.reveal(sealed) == SECRET
    load(store, Thread.build("api:community:X", [Comment("c", "x"), Comment("d", "y")], source="api"), {"d": 0.9})
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(t.alerts)).scalar() == 1  # still above: no alert
    assert len(receiver.got) == 1


def test_an_env_reference_is_stored_as_a_name_and_read_when_delivering(
    store: Store, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TA_TEST_HOOK_SECRET", raising=False)
    hook(store, receiver, secret="env:TA_TEST_HOOK_SECRET")
    assert stored_secrets(store) == ["env:TA_TEST_HOOK_SECRET"]
    load(store, talk("t1", {"a": "x"}), {"a": 0.9})
    delivered(store)
    with store.read() as conn:
        (alert,) = store_alerts.recent(conn)
    assert alert["status"] == "failed" and receiver.got == []
    assert alert["last_error"] == "the webhook's secret is $TA_TEST_HOOK_SECRET, which is not set in this process"

    monkeypatch.setenv("TA_TEST_HOOK_SECRET", SECRET)
    with store.write() as conn:
        assert store_alerts.requeue(conn, [alert["id"]]) == [alert["id"]]
    assert store_alerts.Deliverer(store.engine).drain() == 1
    h = receiver.got[0]["headers"]
    assert signing.verify(SECRET, h[signing.TIMESTAMP], receiver.got[0]["body"], h[signing.SIGNATURE])
    with store.read() as conn:
        assert [(a["attempt"], a["ok"]) for a in store_alerts.attempts(conn, alert["id"])] == [(1, False), (1, True)]
    from analyzer.errors import AnalyzerError

    with pytest.raises(AnalyzerError, match="env:NAME"):
        hook(store, receiver, secret="env:not a name")
