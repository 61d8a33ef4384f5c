"""The service's micro-batcher gathers the requests of a burst into one batch: closed-loop
clients whose next requests arrive spread over a few milliseconds (as answers leave a busy
event loop one by one) fill each batch, instead of alternating a batch of two or three with
the rest; a lone request still waits only ``max_wait``."""

from __future__ import annotations

import asyncio
import time

from analyzer.service.batching import MicroBatcher


def run(coro):  # type: ignore[no-untyped-def]
    """``asyncio.run`` in a thread of its own: other tests (Playwright's sync API) may leave
    an event loop running in this one."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def slow_model(seconds: float):
    sizes: list[int] = []

    def score(texts: list[str]) -> list[int]:
        sizes.append(len(texts))
        time.sleep(seconds)  # the forward pass: the model thread is busy, the loop is not
        return [len(t) for t in texts]

    return score, sizes


def closed_loop(model_seconds: float, clients: int, rounds: int, stagger: float) -> list[int]:
    """The batch sizes the batcher ran for ``clients`` that each send ``rounds`` requests, one
    after the answer to the last; client ``i`` waits ``i * stagger`` before each (answers
    leave the event loop one by one), and checks its answer."""
    score, sizes = slow_model(model_seconds)

    async def main() -> None:
        batcher: MicroBatcher[str, int] = MicroBatcher(score, max_batch=64, max_wait=0.002)
        await batcher.start()

        async def client(i: int) -> None:
            for r in range(rounds):
                await asyncio.sleep(i * stagger)
                assert await batcher.score([f"client {i} round {r}"]) == [len(f"client {i} round {r}")]

        await asyncio.gather(*(client(i) for i in range(clients)))
        await batcher.stop()

    run(main())
    assert sum(sizes) == clients * rounds
    return sizes


def test_a_burst_of_closed_loop_clients_fills_each_batch() -> None:
    clients, rounds = 32, 6
    sizes = closed_loop(0.04, clients, rounds, 0.0005)  # 16 ms from the first answer to the last
    # the first batch may be cut by the first gap (no run time known yet); after it, full batches
    assert len(sizes) <= rounds + 3, sizes
    assert sorted(sizes[1:])[len(sizes) // 2] >= clients - 4, sizes


def test_a_lone_request_waits_only_max_wait() -> None:
    score, sizes = slow_model(0.0)

    async def main() -> float:
        batcher: MicroBatcher[str, int] = MicroBatcher(score, max_batch=64, max_wait=0.002)
        await batcher.start()
        await batcher.score(["warm"])
        start = time.perf_counter()
        await batcher.score(["alone"])
        took = time.perf_counter() - start
        await batcher.stop()
        return took

    took = run(main())
    assert sizes == [1, 1]
    assert took < 0.05  # 2 ms of waiting plus scheduling, far from the 50 ms linger cap


def test_under_load_slow_arrivals_still_share_a_batch() -> None:
    """Clients starved of CPU by the model send their next requests further apart than the
    2 ms gap; once requests have come together, a batch waits (up to its linger cap) for as
    many as came together lately, instead of running one alone between two large ones."""
    sizes = closed_loop(0.03, 12, 8, 0.003)  # 3 ms apart: every gap is longer than max_wait
    steady = sizes[1:-3]  # not the first batch (nothing seen together yet) nor the clients' last
    assert sum(size <= 2 for size in steady) <= 2, sizes  # the gap rule alone: one in two
