"""Coverage-guided fuzzing of one parser with atheris (libFuzzer for Python).

    python fuzz/fuzz_parsers.py FORMAT [libFuzzer options] [CORPUS_DIR ...]

FORMAT is ``auto`` (format detection, then whichever parser it picks) or one of
``analyzer.parsers.FORMATS``. Every input must meet ``fuzz.contract``: threads that are sound
trees, or a deliberate one-line ``InputError``. Anything else is a crash: libFuzzer prints the
Python traceback, writes the input to ``crash-<sha1>`` (see ``-artifact_prefix``) and exits 1.
Replay a saved input with ``python fuzz/fuzz_parsers.py FORMAT crash-<sha1>``.

Useful options: ``-max_total_time=60``, ``-runs=10000``, ``-max_len=8192``, ``-dict=FILE``;
``python benchmarks/fuzz_parsers.py`` runs every parser for a set time and tabulates the results.
Only the analyzer's own modules are instrumented for coverage.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path

PARSER_MODULES = (
    "analyzer.errors",
    "analyzer.limits",
    "analyzer.thread",
    "analyzer.parsers",
    "analyzer.parsers.base",
    "analyzer.parsers.deepjson",
    "analyzer.parsers.pasted",
    "analyzer.parsers.reddit",
    "analyzer.parsers.hackernews",
    "analyzer.parsers.youtube",
    "analyzer.parsers.disqus",
    "analyzer.parsers.tabular",
    "analyzer.parsers.pheme",
)


def make_target(target: str) -> Callable[[bytes], None]:
    """The function libFuzzer calls with each input."""
    from fuzz.contract import check

    def test_one_input(data: bytes) -> None:
        check(data, target)

    return test_one_input


def main(argv: list[str]) -> None:
    import atheris

    # The parsers import their format modules lazily; import them all now (before anything
    # else imports them uninstrumented), so that coverage guides the fuzzer through each.
    with atheris.instrument_imports(include=["analyzer"]):
        for name in PARSER_MODULES:
            importlib.import_module(name)
    from fuzz.contract import TARGETS

    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit(
            f"usage: {Path(argv[0]).name} FORMAT [libFuzzer options] [CORPUS_DIR ...]\nFORMAT: {', '.join(TARGETS)}"
        )
    atheris.Setup([argv[0], *argv[2:]], make_target(argv[1]))
    atheris.Fuzz()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: `fuzz` and `analyzer`
    main(sys.argv)
