"""Runs one import in its own process for the store tests (to kill it, or to read beside it):

    python store_worker.py URL SEED THREADS COMMENTS_PER_THREAD

Prints the import summary as JSON. The pause hook (THREAD_ANALYZER_TEST_PAUSE_FILE) comes
through the environment.
"""

from __future__ import annotations

import json
import sys

from store_helpers import model_info, synthetic


def main(argv: list[str]) -> None:
    from analyzer.store import Store

    url, seed, n, m = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    threads, records = synthetic(seed, n, m)
    with Store.open(url) as store:
        summary = store.import_threads(threads, records, source=f"synthetic-{seed}", models=[model_info()])
    print(json.dumps(summary.as_dict()))


if __name__ == "__main__":
    main(sys.argv[1:])
