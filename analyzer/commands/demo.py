"""``analyzer demo``: import the bundled examples (once: re-importing is a no-op and
re-scoring is skipped) with the default models, then serve the dashboard on them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from analyzer.errors import AnalyzerError

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
APP = REPO / "app.py"


def prepare(db: str, examples: Path = EXAMPLES) -> str:
    """Import ``examples`` into ``db``, scored by the default models when there are any;
    returns the summary line. Without models the threads are stored unscored (and scored
    by a later run once models exist)."""
    from analyzer import pipeline
    from analyzer.errors import ModelError
    from analyzer.store import Store

    if not examples.is_dir():
        raise AnalyzerError(
            "the bundled examples are missing (run from a checkout of the repository)", source=str(examples)
        )
    batches = pipeline.batches_from_paths([examples])
    try:
        models = pipeline.load_models()
    except ModelError as exc:
        click.echo(f"warning: {exc}; importing the examples unscored", err=True)
        models = []
    from tqdm import tqdm

    total = pipeline.count_records(batches)
    with Store.open(db) as store:
        if models:  # the first start scores every comment: say how far it is
            with tqdm(total=total, unit="comment", file=sys.stderr, disable=None, desc="scoring the examples") as bar:
                pipeline.score_batches(store, batches, models, progress=bar.update)
        summary = pipeline.store_batches(store, batches, models)
        return pipeline.summary_line(summary, pipeline.count_threads(batches), store.url)


def streamlit_command(port: int, headless: bool, address: str = "127.0.0.1") -> list[str]:
    """``streamlit run app.py`` kept offline: no usage statistics, and an explicit address
    (else Streamlit asks a web service for this machine's external IP)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true" if headless else "false",
        "--browser.gatherUsageStats",
        "false",
    ]


@click.command()
@click.option(
    "--db", default="demo.db", show_default=True, metavar="PATH", help="Store for the demo (SQLite file or URL)."
)
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True, help="Dashboard port.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser (serve headless).")
@click.option(
    "--address", default="127.0.0.1", show_default=True, help="Address to serve on (0.0.0.0 to let other machines in)."
)
@click.option(
    "--examples",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=EXAMPLES,
    show_default="the bundled examples/",
    help="Import the threads in this folder instead.",
)
def demo(db: str, port: int, no_browser: bool, address: str, examples: Path) -> None:
    """Import the bundled examples/ into --db and open the dashboard on them."""
    click.echo(prepare(db, examples))
    sys.stdout.flush()
    env = dict(os.environ)
    env["THREAD_ANALYZER_DB"] = db if "://" in db else str(Path(db).absolute())
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    host = "localhost" if address in ("127.0.0.1", "0.0.0.0", "::") else address
    click.echo(f"dashboard: http://{host}:{port}  (Ctrl+C to stop)")
    try:
        code = subprocess.call(streamlit_command(port, no_browser, address), env=env, cwd=str(REPO))
    except KeyboardInterrupt:
        code = 0
    if code:
        raise AnalyzerError(f"the dashboard stopped with status {code}")
