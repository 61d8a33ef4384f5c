"""Forward passes over length-sorted inputs cut where padding costs least (issue 12): the cut
is the cheapest of every possible one, never over the size cap, and scoring with it gives the
scores of fixed-size passes; the service scores with it on a CPU, batch scoring does not."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.scoring.passes import cut_passes

pytest_plugins = ["conftest_models"]


def cost(lengths: list[int], spans: list[tuple[int, int]], overhead: int) -> int:
    return sum(overhead + (b - a) * lengths[b - 1] for a, b in spans)


def every_cut(n: int, size: int):  # all ways to cut n inputs into runs of at most size
    for marks in itertools.product([False, True], repeat=max(0, n - 1)):
        bounds = [0, *[i + 1 for i, m in enumerate(marks) if m], n]
        spans = list(itertools.pairwise(bounds))
        if all(b - a <= size for a, b in spans):
            yield spans


@settings(max_examples=150, deadline=None)
@given(
    lengths=st.lists(st.integers(3, 200), min_size=1, max_size=9).map(sorted),
    size=st.integers(1, 6),
    overhead=st.integers(0, 80),
)
def test_the_cut_is_the_cheapest_and_covers_every_input_in_order(lengths, size, overhead) -> None:
    spans = cut_passes(lengths, size, overhead)
    assert spans[0][0] == 0 and spans[-1][1] == len(lengths)
    assert all(a < b <= a + size for a, b in spans) and all(x[1] == y[0] for x, y in itertools.pairwise(spans))
    assert cost(lengths, spans, overhead) == min(cost(lengths, s, overhead) for s in every_cut(len(lengths), size))


def test_short_inputs_share_a_pass_and_long_ones_split() -> None:
    assert cut_passes([], 8) == []
    assert cut_passes([20] * 16, 8) == [(0, 8), (8, 16)]  # equal lengths: full passes
    # three short comments and one long: the short ones are not padded to the long one
    assert cut_passes([10, 12, 12, 300], 8) == [(0, 3), (3, 4)]


def test_cost_cut_scores_equal_fixed_passes(toxicity_model_dir: Path) -> None:
    from analyzer.scoring.classifier import Classifier

    clf = Classifier.from_pretrained(toxicity_model_dir)
    texts = ["ok", "you are an idiot", "thanks " * 40, "what a lovely idea", "no", "word " * 90] * 3
    fixed = clf.score(texts, batch_size=4)
    cut = clf.score(texts, batch_size=4, cut_by_cost=True)
    assert [w for _, w in fixed] == [w for _, w in cut]
    assert all(a == pytest.approx(b, abs=1e-5) for (a, _), (b, _) in zip(fixed, cut))


def test_the_service_cuts_by_cost_and_batch_scoring_does_not(toxicity_model_dir: Path) -> None:
    from analyzer.scoring.classifier import Classifier
    from analyzer.scoring.scorer import Scorer
    from analyzer.service.config import ServiceConfig
    from analyzer.service.core import Service

    clf = Classifier.from_pretrained(toxicity_model_dir)
    core = Service(ServiceConfig(), [clf])
    assert core.scorer.cut_by_cost and core.scorer.batch_size == ServiceConfig().forward_batch
    assert not Scorer([clf]).cut_by_cost
