"""Faults around ``analyzer ingest``, run as a user would run it (a separate process):
SIGKILL while scoring, a full disk, a read-only store, and two importers at once. Each must
leave what was stored intact and consistent, and say what went wrong in one line (exit 2).

SIGKILL in the middle of the import transaction itself is in ``test_store.py``.
The full-disk and read-only cases use a small tmpfs and a read-only bind mount when the tests
run as root (chmod alone does not stop root); otherwise an SQLite page limit and chmod.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hostile.corpus import jsonl_bytes

pytest_plugins = ["conftest_models"]

CLI_TIMEOUT = 300


# ---------------------------------------------------------------------- helpers
def run_cli(*args: str, env: dict[str, str] | None = None, code: str | None = None) -> subprocess.CompletedProcess:
    """``analyzer ARGS`` in a new process (or ``code`` with ARGS as sys.argv[1:])."""
    cmd = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "analyzer", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT, env={**os.environ, **(env or {})})


def start_cli(*args: str, env: dict[str, str] | None = None, code: str | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "analyzer", *args]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )


def one_line_error(proc: subprocess.CompletedProcess, pattern: str) -> str:
    """The process failed with exit 2, one 'error:' line matching ``pattern``, no traceback."""
    rc, out, err = proc.returncode, proc.stdout, proc.stderr
    errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert rc == 2, (rc, err[-3000:])
    assert len(errors) == 1 and "Traceback" not in err, err[-3000:]
    assert re.search(pattern, errors[0]), errors[0]
    assert out.strip() == ""
    return errors[0]


def snapshot(db: Path) -> dict[str, object]:
    """What the store holds, read with the sqlite3 module (not the analyzer's code), after
    checking the file's integrity and its foreign keys."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        dupes = conn.execute(
            "SELECT thread_id, comment_id FROM comments GROUP BY thread_id, comment_id HAVING count(*) > 1"
        ).fetchall()
        assert dupes == [], f"duplicated comments: {dupes[:5]}"
        out: dict[str, object] = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("imports", "threads", "comments", "scores", "models", "thread_stats")
        }
        out["texts"] = sorted(
            r[0] for r in conn.execute("SELECT thread_id || '/' || comment_id || '=' || text FROM comments")
        )
        out["sources"] = sorted(r[0] for r in conn.execute("SELECT source FROM imports"))
        return out
    finally:
        conn.close()


def write_thread(path: Path, thread: str, n: int, *, width: int = 20) -> Path:
    """A JSON Lines file: one thread of ``n`` comments, each replying to an earlier one."""
    rows = [
        {
            "id": f"{thread}-{i}",
            "conversation_id": thread,
            "parent_id": f"{thread}-{i // 2}" if i else None,
            "author": f"user{i % 5}",
            "text": f"comment {i} of {thread} " + "word " * (i % width),
        }
        for i in range(n)
    ]
    path.write_bytes(jsonl_bytes(rows))
    return path


def _mount(*args: str) -> bool:
    """``mount ARGS``; False where it fails or there is no ``mount``."""
    try:
        return subprocess.run(["mount", *args], capture_output=True, timeout=60).returncode == 0
    except OSError:
        return False


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path | None]:
    """A size-limited tmpfs at ``path`` (a disk that fills up), unmounted afterwards; None
    when this process may not mount (not root, or a container that forbids it)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)):
        yield None
        return
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


# ---------------------------------------------------------------------- SIGKILL while scoring
# Runs `analyzer ingest` with the scorer's chunks cut to 16 texts; after the first chunk it
# touches $MARK and sleeps, so the test can kill it while scoring is under way.
PAUSE_WHILE_SCORING = """
import os, sys, time
from analyzer.scoring import scorer
init, chunk = scorer.Scorer.__init__, scorer.Scorer._score_chunk
def small_init(self, *args, **kwargs):
    init(self, *args, **kwargs)
    self.chunk_size = 16
def marked_chunk(self, texts):
    out = chunk(self, texts)
    if not os.path.exists(os.environ["MARK"]):
        open(os.environ["MARK"], "w").close()
        time.sleep(float(os.environ["PAUSE"]))
    return out
scorer.Scorer.__init__, scorer.Scorer._score_chunk = small_init, marked_chunk
from analyzer.cli import main
sys.argv[0] = "analyzer"
main()
"""


@pytest.mark.slow
def test_sigkill_while_scoring_leaves_the_store_consistent_and_a_rerun_completes(
    tmp_path: Path, toxicity_model_dir: Path
) -> None:
    db = tmp_path / "store.db"
    model = ["--model", str(toxicity_model_dir)]
    base = write_thread(tmp_path / "base.jsonl", "base", 10)
    assert run_cli("ingest", "--db", str(db), *model, str(base)).returncode == 0
    before = snapshot(db)
    assert before["scores"] > 0

    new = write_thread(tmp_path / "new.jsonl", "new", 120)
    mark = tmp_path / "scoring"
    proc = start_cli(
        "ingest", "--db", str(db), *model, str(new), code=PAUSE_WHILE_SCORING, env={"MARK": str(mark), "PAUSE": "120"}
    )
    deadline = time.monotonic() + CLI_TIMEOUT
    while not mark.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "scoring never started"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    assert snapshot(db) == before  # nothing half-written
    listed = run_cli("threads", "--db", str(db), "--format", "json")
    assert listed.returncode == 0 and '"base"' in listed.stdout and '"new"' not in listed.stdout

    rerun = run_cli("ingest", "--db", str(db), *model, str(new))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    after = snapshot(db)
    assert after["threads"] == before["threads"] + 1
    assert after["comments"] == before["comments"] + 120
    per_comment = before["scores"] // before["comments"]
    assert after["scores"] == before["scores"] + 120 * per_comment
    assert set(before["texts"]) < set(after["texts"])


# ---------------------------------------------------------------------- full disk
# Without root: the store may grow only a few pages past its size when the run starts, as
# if the disk were full (SQLite then fails exactly as on a full disk: SQLITE_FULL).
PAGE_LIMIT = """
import os, sys
from sqlalchemy import event
from sqlalchemy.pool import Pool
@event.listens_for(Pool, "connect")
def _limit(dbapi_conn, record):
    pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
    dbapi_conn.execute(f"PRAGMA max_page_count = {pages + int(os.environ['SPARE_PAGES'])}")
from analyzer.cli import main
sys.argv[0] = "analyzer"
main()
"""


@pytest.mark.slow
def test_full_disk_gives_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    small = write_thread(tmp_path / "small.jsonl", "small", 20)
    big = write_thread(tmp_path / "big.jsonl", "big", 20_000, width=60)  # ~15 MB once stored
    with _disk(tmp_path) as (folder, fill, make_room):
        db = folder / "store.db"
        assert run_cli("ingest", "--no-score", "--db", str(db), str(small)).returncode == 0
        before = snapshot(db)

        full = fill("ingest", "--no-score", "--db", str(db), str(big))
        one_line_error(full, r"store\.db: the disk .*is full; nothing was written")
        assert snapshot(db) == before

        make_room()
        again = run_cli("ingest", "--no-score", "--db", str(db), str(big))
        assert again.returncode == 0, again.stderr[-3000:]
        after = snapshot(db)
        assert after["comments"] == before["comments"] + 20_000
        assert set(before["texts"]) < set(after["texts"])


@contextmanager
def _disk(tmp_path: Path) -> Iterator[tuple[Path, Callable[..., subprocess.CompletedProcess], Callable[[], object]]]:
    """(folder, run-the-CLI-on-the-full-disk, make-room): a 2 MB tmpfs where this process may
    mount one, else an SQLite page limit two pages above the store's size."""
    with tmpfs(tmp_path / "disk", "2m") as folder:
        if folder is not None:
            yield folder, run_cli, lambda: _mount("-o", "remount,size=256m", str(folder))
            return

    def fill(*args: str) -> subprocess.CompletedProcess:
        return run_cli(*args, code=PAGE_LIMIT, env={"SPARE_PAGES": "2"})

    yield tmp_path, fill, lambda: None


# ---------------------------------------------------------------------- read-only store
@contextmanager
def read_only(folder: Path, db: Path) -> Iterator[None]:
    """The store file and its folder made read-only by chmod, and (as root, whom chmod
    does not stop) by a read-only bind mount of the folder."""
    modes = (db.stat().st_mode, folder.stat().st_mode)
    db.chmod(0o444)
    folder.chmod(0o555)
    mounted = False
    try:
        if os.geteuid() == 0:
            if not (_mount("--bind", str(folder), str(folder)) and _mount("-o", "remount,bind,ro", str(folder))):
                subprocess.run(["umount", "-l", str(folder)], capture_output=True)
                pytest.skip("running as root and cannot bind-mount read-only: chmod does not stop root")
            mounted = True
        yield
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        folder.chmod(modes[1])
        db.chmod(modes[0])


@pytest.mark.slow
def test_read_only_store_gives_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "store.db"
    first = write_thread(tmp_path / "first.jsonl", "first", 15)
    second = write_thread(tmp_path / "second.jsonl", "second", 15)
    assert run_cli("ingest", "--no-score", "--db", str(db), str(first)).returncode == 0
    before = snapshot(db)
    with read_only(folder, db):
        refused = run_cli("ingest", "--no-score", "--db", str(db), str(second))
        one_line_error(refused, r"store\.db: the store is read-only: ")
        shown = run_cli("threads", "--db", str(db), "--format", "json")  # reading still works
        assert shown.returncode == 0, shown.stderr[-2000:]
        assert [t["thread_id"] for t in json.loads(shown.stdout)] == ["first"]
        assert sorted(p.name for p in folder.iterdir()) == ["store.db"]
    assert snapshot(db) == before
    assert run_cli("ingest", "--no-score", "--db", str(db), str(second)).returncode == 0
    assert snapshot(db)["comments"] == before["comments"] + 15


# ---------------------------------------------------------------------- two importers
def test_two_importers_at_once_neither_corrupt_nor_duplicate(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    a, shared, b = (write_thread(tmp_path / f"{name}.jsonl", name, 300) for name in ("a", "shared", "b"))
    mark = tmp_path / "first-is-writing"
    first = start_cli(
        "ingest",
        "--no-score",
        "--db",
        str(db),
        str(a),
        str(shared),
        env={"THREAD_ANALYZER_TEST_PAUSE_FILE": str(mark), "THREAD_ANALYZER_TEST_PAUSE_SECONDS": "3"},
    )
    try:
        deadline = time.monotonic() + CLI_TIMEOUT
        while not mark.exists():  # the first importer is inside its write transaction now
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        second = run_cli("ingest", "--no-score", "--db", str(db), str(shared), str(b))
        out, err = first.communicate(timeout=CLI_TIMEOUT)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err[-3000:]
    assert second.returncode == 0, second.stderr[-3000:]
    assert "comments 600 added" in out
    # the second waited for the first, then found `shared` already imported
    assert "(1 already imported)" in second.stdout and "comments 300 added" in second.stdout
    final = snapshot(db)
    assert final["threads"] == 3 and final["comments"] == 900 and final["imports"] == 3
    assert len(final["sources"]) == len(set(final["sources"])) == 3
