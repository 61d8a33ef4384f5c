"""Size limits on untrusted input (``analyzer/limits.py``): configurable through environment
variables, documented in ``docs/limits.md``, and enforced with messages that name the limit
and the variable that raises it — for files on disk, uploads and pastes alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from hostile.corpus import jsonl_bytes

from analyzer.errors import AnalyzerError, InputError
from analyzer.limits import Limits, env_var
from analyzer.parsers import parse_bytes, parse_path

REPO = Path(__file__).resolve().parent.parent
VARS = {f.name: env_var(f.name) for f in fields(Limits)}


def rows(n: int, text: str = "hello") -> bytes:
    return jsonl_bytes({"id": f"c{i}", "conversation_id": "t", "text": f"{text} {i}"} for i in range(n))


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analyzer", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


def test_each_limit_has_its_variable() -> None:
    assert VARS == {
        "max_file_bytes": "THREAD_ANALYZER_MAX_FILE_BYTES",
        "max_comment_chars": "THREAD_ANALYZER_MAX_COMMENT_CHARS",
        "max_comments_per_thread": "THREAD_ANALYZER_MAX_COMMENTS_PER_THREAD",
    }
    assert Limits.from_env({}) == Limits()
    set_all = Limits.from_env({var: str(100 + i) for i, var in enumerate(VARS.values())})
    assert [getattr(set_all, name) for name in VARS] == [100, 101, 102]
    assert Limits.from_env({VARS["max_file_bytes"]: " 2048 ", VARS["max_comment_chars"]: ""}) == Limits(
        max_file_bytes=2048
    )


@pytest.mark.parametrize("value", ["0", "-5", "ten", "1.5", "1e6"])
def test_a_bad_value_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(AnalyzerError, match=f"{VARS['max_comment_chars']} must be a positive whole number"):
        Limits.from_env({VARS["max_comment_chars"]: value})


def test_a_bad_value_fails_the_cli_in_one_line() -> None:
    run = cli("parse", str(REPO / "pyproject.toml"), env={VARS["max_file_bytes"]: "lots"})
    assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr
    errors = [ln for ln in run.stderr.splitlines() if ln.startswith("error: ")]
    assert errors == [f"error: {VARS['max_file_bytes']} must be a positive whole number, got 'lots'"]


def test_a_file_over_the_size_limit_is_refused_naming_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(rows(200))  # ~ 9 kB
    small = Limits(max_file_bytes=5_000)
    message = (
        rf"big\.jsonl: the file is \d+(\.\d)? kB, over the 5\.0 kB limit \(raise it with {VARS['max_file_bytes']}\)"
    )
    with pytest.raises(InputError, match=message):
        parse_path(path, limits=small)
    with pytest.raises(InputError, match=message):  # an upload or a paste
        parse_bytes(path.read_bytes(), name="big.jsonl", limits=small)
    assert len(parse_path(path, limits=Limits(max_file_bytes=20_000))[0].comments) == 200


def test_the_size_limit_applies_to_the_cli_before_anything_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(rows(200))
    db = tmp_path / "s.db"
    env = {VARS["max_file_bytes"]: "5000"}
    for args in (("parse", str(path)), ("ingest", "--no-score", "--db", str(db), str(path))):
        run = cli(*args, env=env)
        errors = [ln for ln in run.stderr.splitlines() if ln.startswith("error: ")]
        assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr
        assert len(errors) == 1 and "over the 5.0 kB limit" in errors[0] and VARS["max_file_bytes"] in errors[0]
    assert not db.exists()


def test_a_thread_over_the_comment_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        InputError,
        match=rf"thread t has 30 comments, over the limit of 25 \(raise it with {VARS['max_comments_per_thread']}\)",
    ):
        parse_bytes(rows(30), name="t.jsonl", limits=Limits(max_comments_per_thread=25))
    assert len(parse_bytes(rows(25), name="t.jsonl", limits=Limits(max_comments_per_thread=25))[0].comments) == 25
    path = tmp_path / "t.jsonl"
    path.write_bytes(rows(30))
    run = cli("parse", str(path), env={VARS["max_comments_per_thread"]: "25"})
    assert run.returncode == 2 and "over the limit of 25" in run.stderr and run.stdout == ""


def test_long_comments_are_cut_flagged_and_counted(tmp_path: Path) -> None:
    long_text = "abc " * 50
    data = jsonl_bytes([{"id": "a", "text": long_text}, {"id": "b", "parent_id": "a", "text": "short"}])
    (t,) = parse_bytes(data, name="t.jsonl", limits=Limits(max_comment_chars=40))
    a, b = t.get("a"), t.get("b")
    assert a.text == long_text[:40] and a.flags == ["truncated"] and a.extra["original_length"] == len(long_text)
    assert b.text == "short" and b.flags == [] and t.extra["truncated_comments"] == 1
    path = tmp_path / "t.jsonl"
    path.write_bytes(data)
    run = cli("parse", str(path), env={VARS["max_comment_chars"]: "40"})
    assert run.returncode == 0
    record = json.loads(run.stdout.splitlines()[0])
    assert len(record["text"]) == 40 and record["extra"]["flags"] == ["truncated"]
    assert (
        f"1 comment(s) cut to 40 characters, flagged 'truncated' (raise the limit with {VARS['max_comment_chars']})"
        in run.stderr
    )


def test_limits_are_documented() -> None:
    """Every limit's variable and default is in docs/limits.md, which SECURITY.md points to."""
    doc = (REPO / "docs" / "limits.md").read_text(encoding="utf-8")
    for f in fields(Limits):
        assert env_var(f.name) in doc, f"{env_var(f.name)} missing from docs/limits.md"
        assert f"{f.default:,}" in doc or str(f.default) in doc, f"default of {f.name} missing from docs/limits.md"
    assert "docs/limits.md" in (REPO / "SECURITY.md").read_text(encoding="utf-8")
