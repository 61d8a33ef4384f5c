"""``analyzer fetch``: a thread by its link. The only command that goes on the network,
and only to the platform the link names. Every thread is fetched whole before anything is
written; each file is written under a temporary name and renamed into place."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from analyzer.commands.ingest import DB_HELP
from analyzer.errors import AnalyzerError, InputError
from analyzer.fetching.common import Progress


class _Bar(Progress):
    """A tqdm bar on stderr fed by a fetcher's progress reports."""

    def __init__(self, desc: str) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=None, unit="comment", desc=desc, file=sys.stderr, disable=None, leave=False)

    def total(self, n: int | None) -> None:
        self.bar.total = n
        self.bar.refresh()

    def update(self, n: int) -> None:
        if n:
            if self.bar.total is not None and self.bar.n + n > self.bar.total:
                self.bar.total = self.bar.n + n  # platforms' counts lag behind
            self.bar.update(n)

    def note(self, message: str) -> None:
        self.bar.write(message, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


def _destinations(urls: tuple[str, ...], out: str | None, names: list[str]) -> list[Path]:
    """Where each fetched thread goes: ``--out`` as a file for one URL, as a folder (existing,
    or ending in '/') for any number; the current folder by default."""
    if out is None:
        return [Path(n) for n in names]
    target = Path(out)
    if target.is_dir() or out.endswith(("/", "\\")):
        return [target / n for n in names]
    if len(urls) > 1:
        raise AnalyzerError(f"--out {out} is a file, but {len(urls)} links were given: name a folder instead")
    return [target]


@click.command()
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.option(
    "--out",
    default=None,
    metavar="FILE_OR_DIR",
    help="Where to save: a .json file (one URL) or a folder (default: the current folder, named after the thread).",
)
@click.option(
    "--import", "do_import", is_flag=True, help="Also parse, score and store the threads (like analyzer ingest)."
)
@click.option("--db", default=None, metavar="URL", help=DB_HELP + " With --import.")
@click.option("--no-score", is_flag=True, help="With --import: store the threads without scoring them.")
@click.option(
    "--model", "model_dirs", multiple=True, metavar="DIR", help="With --import: classifier folder; repeatable."
)
def fetch(
    urls: tuple[str, ...], out: str | None, do_import: bool, db: str | None, no_score: bool, model_dirs: tuple[str, ...]
) -> None:
    """Fetch whole threads from their links (URL...) and save them as the platform's own JSON.

    \b
    Reddit:      https://www.reddit.com/r/SUB/comments/ID/slug/
    Hacker News: https://news.ycombinator.com/item?id=N
    YouTube:     https://www.youtube.com/watch?v=ID   (needs YOUTUBE_API_KEY)
    Discourse:   https://FORUM/t/slug/ID
    Mastodon:    https://SERVER/@user/ID
    Bluesky:     https://bsky.app/profile/HANDLE/post/RKEY

    Every page is fetched (Reddit's 'load more' stubs expanded), rate limits and Retry-After
    obeyed. The saved files are what `analyzer parse` and `analyzer ingest` read. A timeout
    or an HTTP error stops with one line naming the URL, and nothing is written.
    """
    from analyzer import fetching

    if (db or no_score or model_dirs) and not do_import:
        raise AnalyzerError("--db, --no-score and --model go with --import")
    targets = [fetching.resolve(u) for u in urls]  # every link checked before the first request
    settings = fetching.Settings.from_env()
    if any(p == "youtube" for p, _ in targets) and not settings.youtube_key:
        raise AnalyzerError("YouTube's API needs a key: set YOUTUBE_API_KEY to a YouTube Data API v3 key")

    results: list[Any] = []
    for url, (platform, _) in zip(urls, targets):
        bar = _Bar(f"fetching {platform}")
        try:
            results.append(fetching.fetch(url, settings=settings, progress=bar))
        finally:
            bar.close()
    paths = _destinations(urls, out, [r.name for r in results])
    if len(set(paths)) < len(paths):
        raise AnalyzerError("two links name the same thread; give each once")
    saved: list[Path] = []
    for result, path in zip(results, paths):
        fetching.write_atomic(result, path)
        saved.append(path)
        extra = f" (+ {path.stem}_morechildren/)" if result.companions else ""
        click.echo(f"{result.url}: {result.comments} comment(s) in {result.requests} request(s) -> {path}{extra}")
    if do_import:
        _import(saved, db, no_score, model_dirs)


def _import(paths: list[Path], db: str | None, no_score: bool, model_dirs: tuple[str, ...]) -> None:
    """What ``analyzer ingest PATHS`` does, through the same pipeline functions."""
    from tqdm import tqdm

    from analyzer import pipeline
    from analyzer.store import Store

    batches = pipeline.batches_from_paths([str(p) for p in paths])
    n_threads = pipeline.count_threads(batches)
    if not n_threads:
        raise InputError("no threads found", source=", ".join(map(str, paths)))
    n_records = pipeline.count_records(batches)
    if not no_score:
        from analyzer.scoring.frames import quiet_openmp

        quiet_openmp()  # before torch loads
    models: list[Any] = [] if no_score else pipeline.load_models(model_dirs, None, "auto")
    store = Store.open(db)
    try:
        if models:
            with tqdm(total=n_records, unit="comment", file=sys.stderr, disable=None, desc="scoring") as bar:
                pipeline.score_batches(store, batches, models, progress=bar.update)
        with tqdm(total=n_records, unit="comment", file=sys.stderr, disable=None, desc="storing") as bar:
            summary = pipeline.store_batches(store, batches, models, progress=bar.update)
        click.echo(pipeline.summary_line(summary, n_threads, store.url))
    finally:
        store.close()
