"""``analyzer parse``: records on stdout, a summary on stderr, bad files as one line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli import cli

NOW = "2022-05-10T12:00:00Z"
RECORD_KEYS = [
    "thread_id",
    "id",
    "kind",
    "parent_id",
    "depth",
    "author",
    "author_inferred",
    "created_at",
    "text",
    "extra",
]


def invoke(*args: str) -> tuple[int, list[dict], str]:
    result = CliRunner().invoke(cli, ["parse", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    records = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, records, result.stderr


def run_main(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed entry point's code path (``analyzer.cli:main``), in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "analyzer", "parse", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_pasted_page_records(shared_data: Path) -> None:
    code, recs, err = invoke(str(shared_data / "threads/pasted/000_f069c0dac730660c.txt"), "--now", NOW)
    assert code == 0
    assert len(recs) == 22 and all(list(r) == RECORD_KEYS for r in recs)
    assert recs[0]["kind"] == "post" and recs[0]["depth"] == 0 and recs[0]["author"] == "Ben Solis"
    assert [r["id"] for r in recs[1:5]] == ["c1", "c2", "c3", "c4"]  # pre-order: c4 replies to c3
    c3 = recs[3]
    assert (c3["author"], c3["author_inferred"], c3["parent_id"], c3["created_at"]) == (
        "Namvet",
        True,
        "post",
        "2022-01-10T12:00:00+00:00",
    )
    assert recs[4]["parent_id"] == "c3" and recs[4]["depth"] == 2
    assert "1 thread(s)" in err and "21 comment(s)" in err and "max depth 3" in err and "repairs: none" in err


def test_folder_input_and_summary(shared_data: Path) -> None:
    code, recs, err = invoke(str(shared_data / "threads/reddit"))
    assert code == 0
    assert len({r["thread_id"] for r in recs}) == 5
    assert sum(r["kind"] == "comment" for r in recs) == 2 + 476 + 57 + 492 + 3 + 6
    assert "5 file(s)" in err and "3,748 comment(s) not loaded" in err
    for r in recs:
        if r["kind"] == "comment":
            assert r["depth"] >= 1 and r["parent_id"] is not None


def test_bad_file_among_good_ones(tmp_path: Path, shared_data: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "Listing", "data": {')
    good = shared_data / "threads/reddit/reddit_2gmzqe.json"
    code, recs, err = invoke(str(bad), str(good))
    assert code == 2
    assert len(recs) == 3 and {r["thread_id"] for r in recs} == {"reddit:2gmzqe"}
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {bad}:line 1 column 30: invalid JSON: Expecting property name enclosed in double quotes"]
    assert "1 input(s) failed" in err


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("empty.jsonl", b"", "the file is empty"),
        ("noise.bin", bytes(range(256)) * 4, "binary file"),
        ("latin.csv", "text\ncafé\n".encode("latin-1"), "line 2: not UTF-8 text"),
        ("rows.jsonl", b'{"text": "a"}\n{"text": "b",}\n', "line 2: invalid JSON"),
        ("what.txt", b"hello there\n", "unknown format"),
    ],
)
def test_bad_inputs_exit_2_one_line_no_traceback(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    proc = run_main(str(path))
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"error: {path}") and message in lines[0]
    assert "Traceback" not in proc.stderr


def test_oversize_refused_with_env_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("text\n" + "x" * 5000 + "\n")
    proc = run_main(str(path), env={"THREAD_ANALYZER_MAX_FILE_BYTES": "1000"})
    assert proc.returncode == 2 and proc.stdout == ""
    assert "over the 1.0 kB limit (raise it with THREAD_ANALYZER_MAX_FILE_BYTES)" in proc.stderr


def test_missing_input(tmp_path: Path) -> None:
    proc = run_main(str(tmp_path / "nowhere.json"))
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_format_override_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text("key;reply;msg\n1;;hello\n2;1;hi back\n")
    code, recs, _ = invoke(
        str(path), "--format", "csv", "--column", "id=key", "--column", "parent=reply", "--column", "text=msg"
    )
    assert code == 0
    assert [(r["id"], r["parent_id"], r["depth"], r["text"]) for r in recs] == [
        ("1", None, 1, "hello"),
        ("2", "1", 2, "hi back"),
    ]


def test_bad_options() -> None:
    code, _, err = invoke("x.json", "--now", "last tuesday")
    assert code == 2 and "ISO 8601" in err
    code, _, err = invoke("x.json", "--column", "colour=red")
    assert code == 2 and "ROLE=COLUMN" in err
    code, _, err = invoke("x.json", "--format", "word")
    assert code == 2


def test_help_and_import_is_light() -> None:
    result = CliRunner().invoke(cli, ["parse", "--help"])
    assert result.exit_code == 0 and "--now ISO-TIME" in result.output and "wpdiscuz" in result.output
    check = "import sys, analyzer.cli, analyzer.commands.parse; print(sorted(m for m in ('torch', 'transformers', 'pandas', 'bs4', 'dateparser') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_repairs_reported_with_ids(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("id,parent_id,text\n1,,a\n2,1,b\n2,1,dup\n3,9,orphan\n4,5,x\n5,4,y\n")
    code, recs, err = invoke(str(path))
    assert code == 0
    assert [r["id"] for r in recs] == ["1", "2", "3", "4", "5"]
    assert "duplicate" in err and "kept the first): 2" in err
    assert "parent is missing were attached to the root: 3" in err
    assert "reply cycle among 4, 5" in err
    assert "repairs: 2 cycle broken, 1 duplicate dropped, 1 orphan reattached" in err
