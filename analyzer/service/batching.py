"""Micro-batching: concurrent requests share one forward pass.

Each request puts its texts on a queue and awaits a future. One collector task takes what
is queued and keeps taking while requests keep arriving — until ``max_batch`` texts, or a
gap of ``max_wait`` seconds with no new request, or the linger cap — then hands the batch
to a single model thread, so the event loop never runs the model. A lone request waits
only ``max_wait``. Under load the gap rule matters: when a batch's answers go out, its
clients send their next requests within a few milliseconds of each other, and a collector
that stopped at a fixed deadline after the first of them would run a batch of two or three
and leave the rest to queue behind it (batches alternating small and large: half the
throughput). The linger cap, half the last batch's run time (at least ``max_wait``, at most
``max_linger``), bounds what a request can lose by waiting for company. And once requests
have come together, a batch waits up to that cap for as many as the last few batches held,
even across longer gaps: with the model busy on every core, clients and the event loop get
little CPU, their requests trickle in several milliseconds apart, and the gap rule alone ran
a batch of one or two between each large one (measured at concurrency 32 with an httpx
client on the same two cores: 5 texts per batch). A lone client still waits only ``max_wait``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

In = TypeVar("In")  # one input: a text, or a (parent, text) pair
R = TypeVar("R")


@dataclass
class _Job(Generic[In, R]):
    texts: list[In]
    future: asyncio.Future[list[R]]
    queued: float = field(default_factory=time.perf_counter)


class MicroBatcher(Generic[In, R]):
    """Runs ``score(inputs) -> results`` (one result per input, in order) on batches gathered
    from concurrent ``await batcher.score(inputs)`` calls."""

    def __init__(
        self,
        score: Callable[[list[In]], Sequence[R]],
        *,
        max_batch: int = 64,
        max_wait: float = 0.002,
        max_linger: float = 0.05,
    ):
        self.score_fn = score
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_linger = max_linger
        self.batches = 0
        self.texts = 0
        self.last_run = 0.0  # seconds the last batch took in the model
        self._queue: asyncio.Queue[_Job[In, R]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._recent: deque[int] = deque(maxlen=4)  # requests in each of the last batches

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="analyzer-model")
        self._task = asyncio.create_task(self._collect())

    async def stop(self) -> None:
        """Finish what is queued, then stop (the server drains requests before this)."""
        if self._queue is not None:
            await self._queue.join()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    async def score(self, texts: list[In]) -> list[R]:
        if self._queue is None:
            raise RuntimeError("MicroBatcher.start() was not awaited")
        if not texts:
            return []
        job: _Job[In, R] = _Job(list(texts), asyncio.get_running_loop().create_future())
        await self._queue.put(job)
        return await job.future

    async def _collect(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        carry: _Job[In, R] | None = None
        while True:
            first = carry if carry is not None else await self._queue.get()
            carry = None
            jobs, n = [first], len(first.texts)
            linger = min(self.max_linger, max(self.max_wait, self.last_run / 2))
            cap = loop.time() + linger
            # as many requests as came together lately: under load, wait (up to the cap) for them
            want = max(self._recent, default=1)
            while n < self.max_batch:
                try:
                    job = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    left = cap - loop.time()
                    if len(jobs) >= want:  # company enough: a gap without arrivals ends it
                        left = min(self.max_wait, left)
                    if left <= 0:
                        break
                    try:
                        job = await asyncio.wait_for(self._queue.get(), left)
                    except asyncio.TimeoutError:
                        break
                if n + len(job.texts) > self.max_batch and n > 0:
                    carry = job  # starts the next batch: a job is never split
                    break
                jobs.append(job)
                n += len(job.texts)
            self._recent.append(len(jobs))
            await self._run(loop, jobs)

    async def _run(self, loop: asyncio.AbstractEventLoop, jobs: list[_Job[In, R]]) -> None:
        assert self._queue is not None
        texts = [t for j in jobs for t in j.texts]
        started = time.perf_counter()
        try:
            results = await loop.run_in_executor(self._pool, self.score_fn, texts)
        except Exception as exc:  # the model failed: every waiting request hears it
            for j in jobs:
                if not j.future.done():
                    j.future.set_exception(exc)
        else:
            self.last_run = time.perf_counter() - started
            self.batches += 1
            self.texts += len(texts)
            i = 0
            for j in jobs:
                part = list(results[i : i + len(j.texts)])
                i += len(j.texts)
                if not j.future.done():  # the client may have gone (request timeout)
                    j.future.set_result(part)
        finally:
            for _ in jobs:
                self._queue.task_done()
