"""``analyzer serve``: the local Perspective-compatible scoring service, and ``analyzer apikey``."""

from __future__ import annotations

from typing import Any, TypedDict

import click

from analyzer.commands.ingest import DB_HELP
from analyzer.errors import AnalyzerError


class _Settings(TypedDict):
    """What ``uvicorn.run`` is given in one process and in several alike."""

    host: str
    port: int
    log_level: str
    timeout_graceful_shutdown: int


def _need_serve_extra() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise AnalyzerError("`analyzer serve` needs the [serve] extra: pip install 'thread-analyzer[serve]'") from None


@click.command()
@click.option(
    "--db", default=None, metavar="URL", help="Store API traffic here (" + DB_HELP + "). Without it nothing is stored."
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on; a non-loopback one needs --api-keys."
)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--model",
    "models",
    multiple=True,
    metavar="DIR",
    help="Model folder (repeat for several); default: the default models.",
)
@click.option(
    "--api-keys", type=click.Path(dir_okay=False), default=None, help="Key file (create keys with `analyzer apikey`)."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes (each loads the models).",
)
@click.option(
    "--precision",
    type=click.Choice(["float32", "auto", "int8", "float16", "bfloat16"]),
    default="float32",
    show_default=True,
)
@click.option("--rate", type=float, default=None, help="Requests per second per key (per client address without keys).")
@click.option("--burst", type=int, default=None, help="Requests allowed at once above --rate.")
@click.option("--daily-quota", type=int, default=None, help="Requests per key per UTC day.")
@click.option("--max-body-bytes", type=int, default=1_000_000, show_default=True)
@click.option(
    "--max-text-bytes", type=int, default=20_480, show_default=True, help="Longest comment text (Perspective: 20 KB)."
)
@click.option("--max-items", type=int, default=1000, show_default=True, help="Comments per /v1 call.")
@click.option("--timeout", "request_timeout", type=float, default=30.0, show_default=True, help="Seconds per request.")
@click.option(
    "--max-batch",
    type=int,
    default=64,
    show_default=True,
    help="Texts gathered from concurrent requests into one batch.",
)
@click.option(
    "--forward-batch",
    type=int,
    default=8,
    show_default=True,
    help="At most this many texts per forward pass within a batch, sorted by length and cut where padding costs least (on a CPU).",
)
@click.option(
    "--max-wait-ms", type=float, default=2.0, show_default=True, help="How long a batch waits for more requests."
)
@click.option(
    "--model-process/--no-model-process",
    default=False,
    show_default=True,
    help="Run the models in a process of their own, apart from the HTTP work (more throughput under load on a CPU).",
)
@click.option("--cors-origin", "cors_origins", multiple=True, help="Allow browser calls from this origin (repeat).")
def serve(**options: Any) -> None:  # click hands each option its own type
    """Serve the models over HTTP: Perspective API's v1alpha1 routes (comments:analyze,
    comments:suggestscore, the discovery document) and our own /v1 routes (batches of
    comments, whole threads, models). OpenAPI docs at /docs."""
    _need_serve_extra()
    import uvicorn

    from analyzer.service.app import build_service, create_app
    from analyzer.service.config import ENV_CONFIG, ServiceConfig

    opts = dict(options)
    opts["model_dirs"] = list(opts.pop("models"))
    opts["cors_origins"] = list(opts["cors_origins"])
    config = ServiceConfig(**opts).check()
    where = f"http://{config.host}:{config.port}"
    settings = _Settings(host=config.host, port=config.port, log_level="warning", timeout_graceful_shutdown=30)
    if config.workers > 1:
        import os

        probe = build_service(config)  # a bad model, key file or store fails here, once, not in every worker
        if probe.store is not None:
            probe.store.close()
        del probe
        os.environ[ENV_CONFIG] = config.to_env()
        click.echo(f"serving on {where} with {config.workers} workers", err=True)
        uvicorn.run("analyzer.service.app:app_from_env", factory=True, workers=config.workers, **settings)
        return
    service = build_service(config)
    names = ", ".join(c.version for c in service.classifiers)
    store = service.store.url if service.store is not None else "none (nothing is stored)"
    click.echo(f"serving on {where}  models: {names}  store: {store}", err=True)
    click.echo(
        f"Perspective clients: discovery at {where}/$discovery/rest?version=v1alpha1; docs at {where}/docs", err=True
    )
    uvicorn.run(create_app(service), **settings)


@click.command()
@click.argument("name")
@click.option(
    "--file", "path", required=True, type=click.Path(dir_okay=False), help="The key file (created if missing)."
)
@click.option("--rate", type=float, default=None, help="This key's requests per second.")
@click.option("--burst", type=int, default=None)
@click.option("--daily-quota", type=int, default=None)
def apikey(name: str, path: str, rate: float | None, burst: int | None, daily_quota: int | None) -> None:
    """Create an API key for NAME; the file keeps only its hash, so copy the key now."""
    from analyzer.service.keys import add_key

    click.echo(add_key(path, name, rate=rate, burst=burst, daily_quota=daily_quota))
