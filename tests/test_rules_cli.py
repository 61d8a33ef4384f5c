"""``analyzer rules`` and ``analyzer alerts`` on a real SQLite store: rules added from options
and from JSON/YAML files (all or none), listed, dry-run against a stored thread (nothing
written), disabled, re-run and removed; webhooks added with a made, an env or a file secret
that no output or stored value shows; failed alerts listed, shown with their attempts and
retried to a real HTTP receiver on 127.0.0.1 (the signature checks out); user errors as one
line with exit status 2 from the installed entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from store_helpers import model_info, scored

from analyzer import alerts as signing
from analyzer.cli import cli
from analyzer.store import Store
from analyzer.store import alerts as store_alerts
from analyzer.store import schema as t
from analyzer.thread import Comment, Thread

SECRET = "a-secret-the-receiver-also-has"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(signing.ENV_SECRET_KEY_FILE, str(tmp_path / "config" / "secret.key"))
    monkeypatch.delenv(signing.ENV_SECRET_KEY, raising=False)
    monkeypatch.setenv(signing.ENV_ATTEMPTS, "1")
    monkeypatch.setenv(signing.ENV_BACKOFF, "0.01")


def talk(tid: str, rows: list[tuple[str, str, str]], source: str = "forum.jsonl") -> Thread:
    comments = [Comment(cid, text, author=author) for cid, author, text in rows]
    return Thread.build(tid, comments, source=source, format="jsonl")


def load(db: Path, th: Thread, toxicity: dict[str, float] | None = None) -> None:
    scores = {cid: {"toxicity": v} for cid, v in (toxicity or {}).items()}
    with Store.open(db) as s:
        s.import_threads([th], scored(th, scores), source=th.source or "x", models=[model_info()])
        assert store_alerts.deliverer(s.engine).join(30)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    load(
        path,
        talk(
            "a",
            [
                ("c1", "ann", "hello all"),
                ("c2", "bob", "you IDIOT, see http://spam.biz"),
                ("c3", "cat", "\x1b[31mred idiot\x1b[0m"),  # control characters never reach the terminal
            ],
        ),
    )
    load(path, talk("a1", [("d1", "dan", "idiot again")]))
    return path


def run(db: Path, *args: str, ok: bool = True, input: str | None = None) -> Any:
    result = CliRunner().invoke(cli, [*args[:2], "--db", str(db), *args[2:]], input=input, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def cli_subprocess(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point's error path: one line, exit 2."""
    return subprocess.run(
        [sys.executable, "-c", "from analyzer.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )


def counts(db: Path) -> tuple[int, int]:
    with Store.open(db) as s, s.read() as conn:
        return (
            conn.execute(select(func.count()).select_from(t.rules)).scalar(),
            conn.execute(select(func.count()).select_from(t.rule_hits)).scalar(),
        )


# ---------------------------------------------------------------------------- rules
def test_add_list_dry_run_disable_rerun_and_remove(db: Path) -> None:
    out = run(db, "rules", "add", "--name", "Insults", "--kind", "words", "--severity", "banned", "--pattern", "idiot")
    assert out.output.startswith("added rule 1: banned words rule 'Insults' (scope all)")
    run(db, "rules", "add", "--name", "Links", "--kind", "link", "--scope", "thread:a1")

    listed = run(db, "rules", "list").output.splitlines()
    assert listed[0].split() == ["id", "on", "severity", "kind", "flagged", "name", "scope", "pattern"]
    assert listed[1].split()[:6] == ["1", "yes", "banned", "words", "0", "Insults"]  # new imports only, until rerun
    assert "thread:a1" in listed[2]

    # dry run of the stored rule: which comments, and why; nothing written
    dry = run(db, "rules", "test", "1", "--thread", "a").output
    assert dry.splitlines()[0] == "banned words rule 'Insults' would flag 2 of 3 comment(s) in thread a:"
    assert [line.split()[:2] for line in dry.splitlines()[2:]] == [["c2", "bob"], ["c3", "cat"]]
    assert "banned word 'idiot' (rule 'Insults')  you IDIOT, see http://spam.biz" in dry
    assert "\x1b" not in dry and "[31mred idiot" in dry
    assert counts(db) == (2, 0)

    # an unsaved rule, and a scope that leaves the thread out (thread:a never covers a1)
    dry = run(db, "rules", "test", "--kind", "link", "--thread", "a", "--format", "json").output
    got = json.loads(dry)
    assert got["in_scope"] and [f["comment_id"] for f in got["flagged"]] == ["c2"]
    assert "link to spam.biz" in got["flagged"][0]["reason"] and counts(db) == (2, 0)
    dry = run(db, "rules", "test", "--kind", "words", "--pattern", "idiot", "--scope", "thread:a", "--thread", "a1")
    assert "outside the rule's scope (thread:a)" in dry.output
    forced = run(db, "rules", "test", "2", "--thread", "a", "--ignore-scope").output
    assert "would flag 1 of 3" in forced

    done = run(db, "rules", "rerun").output
    assert done.startswith("rules run over 4 comment(s): 3 flag(s), 3 new")
    rules = json.loads(run(db, "rules", "list", "--format", "json").output)
    assert [(r["name"], r["hits"], r["scope"]) for r in rules] == [("Insults", 3, "all"), ("Links", 0, "thread:a1")]

    run(db, "rules", "disable", "1")
    assert json.loads(run(db, "rules", "list", "--format", "json").output)[0]["enabled"] is False
    assert "0 flag(s)" in run(db, "rules", "rerun").output
    run(db, "rules", "enable", "1")
    run(db, "rules", "rerun")
    run(db, "rules", "remove", "1", "2")
    assert counts(db) == (0, 0)


def test_rules_from_yaml_and_json_files_all_or_none(db: Path, tmp_path: Path) -> None:
    good = tmp_path / "rules.yaml"
    good.write_text(
        "rules:\n"
        "  - name: Insults\n    kind: words\n    severity: banned\n    pattern: [idiot, shut up]\n"
        "  - name: Newcomers\n    kind: new_author\n    scope:\n      - source:forum.*\n      - community:X\n",
        encoding="utf-8",
    )
    out = run(db, "rules", "add", "--file", str(good), "--rerun").output.splitlines()
    assert out[0] == "added rule 1: banned words rule 'Insults' (scope all)"
    assert out[1] == "added rule 2: suspect new author rule 'Newcomers' (scope source:forum.*, community:X)"
    assert out[2].startswith("rules run over 4 comment(s)")

    bad = tmp_path / "more.json"
    bad.write_text(
        json.dumps(
            [
                {"name": "ok", "kind": "regex", "pattern": "fr+ee"},
                {"name": "B", "kind": "link", "pattern": ["no such domain!"]},
            ]
        )
    )
    before = counts(db)
    proc = cli_subprocess("rules", "add", "--db", str(db), "--file", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert (
        proc.stderr.strip()
        == f"error: {bad}:rule 2 ('B'): line 1: 'no such domain!' is not a domain name (e.g. example.org)"
    )
    assert counts(db) == before  # the good first rule was not stored either

    for text, message in [
        ("{", "not JSON: Expecting property name enclosed in double quotes"),
        ('{"name": "x", "kind": "words", "pattern": "a", "colour": "red"}', "rule 1: unknown field(s) colour"),
        ("[]", "no rules in it"),
        ('{"name": "x", "kind": "words", "pattern": "a", "scope": "a"}', "say what 'a' is: write thread:a"),
    ]:
        bad.write_text(text)
        proc = cli_subprocess("rules", "add", "--db", str(db), "--file", str(bad))
        assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert counts(db) == before


def test_user_errors_are_one_line_with_exit_status_2(db: Path, tmp_path: Path) -> None:
    for args, message in [
        (("rules", "remove", "7"), "error: no rule 7"),
        (
            ("rules", "test", "--kind", "words", "--pattern", "x", "--thread", "nope"),
            "error: no thread 'nope' in the store",
        ),
        (
            ("rules", "add", "--name", "n", "--kind", "words", "--scope", "api:community:X", "--pattern", "x"),
            "write community:X",
        ),
        (("rules", "add", "--name", "n", "--kind", "regex", "--pattern", "(open"), "line 1: not a regular expression"),
        (("alerts", "retry", "3"), "error: no alert 3"),
        (("alerts", "webhooks", "add", "--url", "file:///etc/passwd"), "http:// or https://"),
        (("alerts", "webhooks", "remove", "4"), "error: no webhook 4"),
    ]:
        cmd = list(args)
        depth = 3 if cmd[:2] == ["alerts", "webhooks"] else 2
        proc = cli_subprocess(*cmd[:depth], "--db", str(db), *cmd[depth:])
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    proc = cli_subprocess("rules", "list", "--db", str(tmp_path / "missing.db"))
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and not (tmp_path / "missing.db").exists()
    assert counts(db) == (0, 0)


# ---------------------------------------------------------------------------- alerts
class Receiver:
    """Answers each POST with the next of ``statuses`` (then 200) and keeps what it got."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.got: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.got.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def stored_secrets(db: Path) -> list[str]:
    with Store.open(db) as s, s.read() as conn:
        return list(conn.execute(select(t.webhooks.c.secret).order_by(t.webhooks.c.id)).scalars())


def test_webhooks_keep_secrets_out_of_output_and_the_database(
    db: Path, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = CliRunner().invoke(
        cli, ["alerts", "webhooks", "add", "--db", str(db), "--url", receiver.url, "--toxic-share", "0.5"]
    )
    assert result.exit_code == 0, result.output
    made = result.stdout.strip()  # stdout holds the made secret alone (shown this once)...
    assert len(made) >= 32 and "\n" not in made and "added webhook 1" in result.stderr
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET + "\n")
    result = CliRunner().invoke(
        cli,
        [
            "alerts",
            "webhooks",
            "add",
            "--db",
            str(db),
            "--url",
            receiver.url,
            "--name",
            "file",
            "--secret-file",
            str(secret_file),
        ],
    )
    assert result.exit_code == 0 and SECRET not in result.output
    result = CliRunner().invoke(
        cli, ["alerts", "webhooks", "add", "--db", str(db), "--url", receiver.url, "--secret-env", "TA_HOOK_SECRET"]
    )
    assert result.exit_code == 0 and "$TA_HOOK_SECRET" in result.output

    sealed = stored_secrets(db)  # ...which the store keeps encrypted; the env one as its name
    assert sealed[0].startswith("enc:v1:") and sealed[1].startswith("enc:v1:") and sealed[2] == "env:TA_HOOK_SECRET"
    assert made not in " ".join(sealed) and SECRET not in " ".join(sealed)
    assert signing.reveal(sealed[0]) == made and signing.reveal(sealed[1]) == SECRET
    for fmt in ("table", "json"):
        listing = CliRunner().invoke(cli, ["alerts", "webhooks", "list", "--db", str(db), "--format", fmt]).output
        assert made not in listing and SECRET not in listing and "enc:v1" not in listing
    listing = CliRunner().invoke(cli, ["alerts", "webhooks", "list", "--db", str(db)]).output
    assert listing.count("encrypted") == 2 and "env:TA_HOOK_SECRET" in listing


def test_failed_alerts_are_listed_shown_and_retried(
    db: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store.open(db) as s:
        store_alerts.save_webhook(s, name="mods", url=receiver.url, secret=SECRET, toxic_share_threshold=0.5)
    receiver.statuses = [503]
    load(db, talk("b", [("x", "eve", "awful")]), {"x": 0.9})  # one attempt (the test's policy): fails

    failed = CliRunner().invoke(cli, ["alerts", "list", "--db", str(db), "--status", "failed"]).output.splitlines()
    assert failed[0].split() == ["id", "created", "event", "thread", "status", "tries", "webhook", "last", "error"]
    assert failed[1].split()[3:] == ["toxic_share", "b", "failed", "1", "mods", "HTTP", "503"]
    shown = CliRunner().invoke(cli, ["alerts", "show", "--db", str(db), "1"]).output
    assert "alert 1 (toxic_share, thread b): toxic share 1.00 crossed 0.50; failed after 1 attempt(s)" in shown
    assert '"event": "toxic_share"' in shown and "HTTP 503" in shown and SECRET not in shown

    done = CliRunner().invoke(cli, ["alerts", "retry", "--db", str(db), "--failed"])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines() == ["alert(s) 1 back in the outbox", "1 alert(s) delivered"]
    last = receiver.got[-1]
    h = last["headers"]
    assert len(receiver.got) == 2 and last["body"] == receiver.got[0]["body"]  # the same payload, signed again
    assert signing.verify(SECRET, h[signing.TIMESTAMP], last["body"], h[signing.SIGNATURE])
    log = json.loads(CliRunner().invoke(cli, ["alerts", "show", "--db", str(db), "1", "--format", "json"]).output)
    assert log["status"] == "delivered" and [(a["status_code"], a["ok"]) for a in log["attempts_log"]] == [
        (503, False),
        (200, True),
    ]
    again = CliRunner().invoke(cli, ["alerts", "retry", "--db", str(db), "1"])
    assert str(again.exception) == "alert 1 is delivered; only failed alerts are retried"
    assert "no failed alerts" in CliRunner().invoke(cli, ["alerts", "retry", "--db", str(db), "--failed"]).output
