"""The thread store: SQLite by default, PostgreSQL for teams (see ``Store``).

Modules, by what they hold: ``schema`` (tables), ``database`` (engines, URLs, errors),
``migrate`` + ``migrations/`` (schema versions), ``importing`` (writes; their rows in
``thread_rows`` and ``score_rows``), ``queries`` (reads), ``review`` (verdicts and the
review queue), ``exporting`` (files out), ``alerts`` (what an import raises; ``webhooks``,
``outbox``).
"""

from __future__ import annotations

from analyzer.store.database import ENV_DB, StoreError, resolve_url
from analyzer.store.importing import ImportBatch, ImportSummary, ModelInfo
from analyzer.store.queries import LoadedThread
from analyzer.store.store import Store

__all__ = ["ENV_DB", "ImportBatch", "ImportSummary", "LoadedThread", "ModelInfo", "Store", "StoreError", "resolve_url"]
