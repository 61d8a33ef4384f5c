"""The int8 path stays quiet: torch's deprecation notice for ``torch.ao.quantization`` must
never reach a user's terminal, even with every warning switched on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

pytest_plugins = ["conftest_models"]


def test_int8_scoring_prints_no_deprecation(tmp_path: Path, toxicity_model_dir: Path) -> None:
    data = tmp_path / "c.csv"
    data.write_text("id,text\n1,you are an idiot\n2,what a lovely day\n", encoding="utf-8")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "analyzer.cli",
            "score",
            str(data),
            "--model",
            str(toxicity_model_dir),
            "--precision",
            "int8",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "always", "THREAD_ANALYZER_CACHE": ""},
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stderr
    assert "deprecat" not in r.stderr.lower() and "Warning" not in r.stderr, r.stderr
    assert r.stdout.count('"scores"') == 2
