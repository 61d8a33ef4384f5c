"""``analyzer serve --model-process``: the models answer from a child process with the
scores the in-process models give; a child that dies fails only the batch it held (503, in
Google's error shape) and is started again for the next requests; stopping the server stops
the child."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from service_kit import start_server, stop

pytest_plugins = ["conftest_models"]

TEXTS = ["you are an idiot", "thanks, that helped a lot", "ok", "this is a much longer comment " * 6]


def model_children(pid: int) -> list[int]:
    """The server's child processes that run the models (multiprocessing's spawned ones,
    not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def analyze(client, text: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/v1alpha1/comments:analyze",
        json={"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}, "languages": ["en"]},
    )


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads child processes from /proc")
def test_scores_from_the_model_process_match_and_a_dead_child_is_replaced(
    tmp_path: Path, toxicity_model_dir: Path
) -> None:
    from analyzer.pipeline import load_models
    from analyzer.scoring.scorer import Scorer

    expected = [s.scores["toxicity"] for s in Scorer(load_models([str(toxicity_model_dir)])).score_texts(TEXTS)]
    srv = start_server(["--model", str(toxicity_model_dir), "--model-process"], tmp_path / "serve.log")
    try:
        (child,) = model_children(srv.proc.pid)
        with srv.client() as client:
            got = [analyze(client, t).json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"] for t in TEXTS]
            assert got == pytest.approx(expected, abs=1e-4)
            assert client.get("/healthz").json()["texts"] == len(TEXTS)

            os.kill(child, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while child in model_children(srv.proc.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            failed = analyze(client, TEXTS[0])
            assert failed.status_code == 503, failed.text
            error = failed.json()["error"]
            assert error["status"] == "UNAVAILABLE" and "model process stopped" in error["message"]

            again = analyze(client, TEXTS[0])  # the child is started again for it
            assert again.status_code == 200, again.text
            assert again.json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"] == pytest.approx(
                expected[0], abs=1e-4
            )
            (replacement,) = model_children(srv.proc.pid)
            assert replacement != child
    finally:
        stop(srv.proc)  # uvicorn shuts down, then re-raises SIGTERM: -15 is a clean stop here
    assert "Traceback" not in srv.log_text(), srv.log_text()
    deadline = time.monotonic() + 30
    while Path(f"/proc/{replacement}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{replacement}").exists(), "the model process outlived the server"


def test_a_model_process_without_models_is_refused_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "analyzer.cli", "serve", "--model-process", "--model", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode != 0 and "Traceback" not in r.stderr and "missing" in r.stderr
