"""How length-sorted model inputs are cut into forward passes on a CPU.

A pass costs about a fixed overhead plus one unit per token row of its padded block
(``n`` inputs times the longest of them): measured for MiniLM on one core, about 9 ms a
pass plus 0.28 ms per token row (docs/serving.md).
Fixed-size passes pad a short input to a long neighbour's length whenever lengths are
mixed, as in a service's micro-batch of unrelated requests; cutting where the cost is
least keeps short inputs together in larger passes and long ones in smaller passes.
"""

from __future__ import annotations

from collections.abc import Sequence

# A pass's fixed cost, in token rows (about 9 ms / 0.28 ms on one core).
PASS_OVERHEAD_TOKENS = 32


def cut_passes(lengths: Sequence[int], max_size: int, overhead: int = PASS_OVERHEAD_TOKENS) -> list[tuple[int, int]]:
    """(start, end) of each pass over inputs of ascending ``lengths``, at most ``max_size``
    inputs a pass, with the least total ``overhead + n * longest`` (a shortest-path over
    the cut points: n times max_size steps)."""
    n = len(lengths)
    if n == 0:
        return []
    size = max(1, max_size)
    best = [0] * (n + 1)  # best[j]: least cost of the first j inputs
    cut = [0] * (n + 1)  # cut[j]: where the last pass of that best way starts
    for j in range(1, n + 1):
        longest = lengths[j - 1]
        best[j], cut[j] = min((best[i] + overhead + (j - i) * longest, i) for i in range(max(0, j - size), j))
    spans: list[tuple[int, int]] = []
    j = n
    while j > 0:
        spans.append((cut[j], j))
        j = cut[j]
    return spans[::-1]


def plan_passes(lengths: Sequence[int], size: int, sort_by_length: bool, cut_by_cost: bool) -> list[list[int]]:
    """The input indices of each forward pass: sorted by length (when asked), then every
    ``size`` inputs, or cut where padding costs least (``cut_by_cost``)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__) if sort_by_length else list(range(len(lengths)))
    step = max(1, size)
    if sort_by_length and cut_by_cost:
        spans = cut_passes([lengths[k] for k in order], step)
    else:
        spans = [(b, min(b + step, len(order))) for b in range(0, len(order), step)]
    return [order[a:b] for a, b in spans]
