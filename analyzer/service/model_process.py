"""The models in a process of their own (``analyzer serve --model-process``).

In one process the model thread and the event loop share one interpreter lock: while a
forward pass runs, tokenizing and the Python between torch's kernels hold it, and the
event loop (HTTP parsing, JSON, pydantic) waits for it, so requests reach the batcher late
and batches come out small. Here a child process loads the same model folders and scores
what the batcher's model thread sends it over a pipe; the parent keeps its own copy of the
models only for their labels, thresholds and fingerprints (the child's are the same
folders, so the fingerprints agree).
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from analyzer.errors import AnalyzerError
from analyzer.scoring.scorer import Scored
from analyzer.service.errors import ApiError

STARTUP_TIMEOUT = 600.0  # seconds for the child to import torch and load the models


class ModelProcess:
    """``score_texts`` / ``score_pairs`` answered by a child process holding a ``Scorer``
    over ``model_dirs``. Calls are serialized (one pipe); each batcher already sends one
    batch at a time. ``start`` waits for the models; a call after the child died starts it
    again first."""

    def __init__(self, model_dirs: Sequence[str], *, precision: str, forward_batch: int | None) -> None:
        self.model_dirs = list(model_dirs)
        self.precision = precision
        self.forward_batch = forward_batch
        self._conn: Connection | None = None
        self._proc: Any = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the child and wait until its models are loaded (AnalyzerError if it fails)."""
        ctx = mp.get_context("spawn")  # a fresh interpreter: no copied threads or event loop
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve,
            args=(child, self.model_dirs, self.precision, self.forward_batch),
            name="analyzer-models",
            daemon=True,
        )
        self._proc.start()
        child.close()
        self._conn = parent
        if not parent.poll(STARTUP_TIMEOUT):
            self.stop()
            raise AnalyzerError(f"the model process did not load its models in {STARTUP_TIMEOUT:.0f} s")
        kind, value = parent.recv()
        if kind != "ready":
            self.stop()
            raise AnalyzerError(f"the model process could not load the models: {value}")

    def score_texts(self, texts: list[str]) -> list[Scored]:
        return self._call("texts", texts)

    def score_pairs(self, pairs: list[tuple[str, str]]) -> list[Scored]:
        return self._call("pairs", pairs)

    def _call(self, kind: str, inputs: list[Any]) -> list[Scored]:
        """The child's answer. A child that died (killed, out of memory) fails this batch's
        requests with 503 and is started again, so the next requests are answered."""
        with self._lock:
            if self._conn is None:
                self.start()
            assert self._conn is not None
            try:
                self._conn.send((kind, inputs))
                status, value = self._conn.recv()
            except (EOFError, OSError):
                code = self._proc.exitcode if self._proc is not None else None
                self.stop()
                raise ApiError(
                    503, f"the model process stopped (exit code {code}); it starts again with the next request"
                ) from None
        if status != "ok":
            raise ApiError(500, f"the model failed: {value}")
        return list(value)

    def stop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.send(None)
            except OSError:  # the child is already gone (BrokenPipeError is one)
                pass
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.join(timeout=10)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(timeout=10)
            self._proc = None


def _serve(conn: Connection, model_dirs: list[str], precision: str, forward_batch: int | None) -> None:
    """The child: load the models, then answer (kind, inputs) until told to stop (None)."""
    try:
        from analyzer.pipeline import load_models
        from analyzer.scoring.scorer import Scorer

        scorer = Scorer(
            load_models(model_dirs, precision=precision),
            batch_size=forward_batch,
            cut_by_cost=forward_batch is not None,
        )
    except Exception as exc:  # reported to the parent, which refuses to start
        conn.send(("error", str(exc)))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the parent is gone
            return
        if message is None:
            return
        kind, inputs = message
        try:
            out = scorer.score_texts(inputs) if kind == "texts" else scorer.score_pairs(inputs)
            conn.send(("ok", out))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
