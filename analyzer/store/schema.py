"""The store's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

This is the schema at the newest migration; ``migrations/versions`` holds how each older
store gets here. Comment text is data, never SQL: every value goes through bound
parameters, and ``CleanText`` makes hostile strings storable on both databases.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.types import TypeDecorator

from analyzer.text import without_lone_surrogates

DECISIONS = ("approve", "remove", "relabel")


class CleanText(TypeDecorator[str]):
    """Text that PostgreSQL and UTF-8 accept whatever a platform sent: NUL characters
    and lone surrogates become U+FFFD (the text hash is taken before, on the original)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return clean_text(value) if isinstance(value, str) else value


def clean_text(value: str) -> str:
    """``value`` with NULs and unpaired surrogates replaced by U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    return without_lone_surrogates(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Times stored as naive UTC on both databases and read back as aware UTC, so a
    comparison never mixes naive and aware values (naive input is taken as UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


# SQLite only makes INTEGER PRIMARY KEY the fast rowid alias; PostgreSQL gets 64 bits.
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", CleanText, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("format", String(40)),
    Column("imported_at", UTCDateTime, nullable=False),
    Column("repairs", JSON, nullable=False),
    Column("threads", Integer, nullable=False),
    Column("comments", Integer, nullable=False),
    Column("added", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("repaired", Integer, nullable=False),
    Column("scores", Integer, nullable=False),
    UniqueConstraint("source", "sha256"),
)

threads = Table(
    "threads",
    metadata,
    Column("id", CleanText, primary_key=True),
    Column("title", CleanText),
    Column("source", CleanText),
    Column("format", String(40)),
    Column("post_id", CleanText),
    Column("extra", JSON, nullable=False),
    Column("repairs", JSON, nullable=False),
    Column("first_import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("last_import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

comments = Table(
    "comments",
    metadata,
    Column("pk", BigId, primary_key=True, autoincrement=True),
    Column("thread_id", CleanText, ForeignKey("threads.id"), nullable=False),
    Column("comment_id", CleanText, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("parent_id", CleanText),
    Column("depth", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("author", CleanText),
    Column("author_inferred", Boolean, nullable=False),
    Column("created_at", UTCDateTime),
    Column("created_precision", String(10)),
    Column("text", CleanText, nullable=False),
    Column("text_hash", String(32), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("extra", JSON, nullable=False),
    Column("flags", JSON, nullable=False),
    Column("first_import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("last_import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("thread_id", "comment_id"),
)

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("name", CleanText, nullable=False),
    Column("task", String(20)),
    Column("labels", JSON, nullable=False),
    Column("thresholds", JSON, nullable=False),
    Column("card", CleanText),
    Column("first_seen", UTCDateTime, nullable=False),
    # what the model reads besides the comment: None (the comment alone) or "parent" (a reply
    # with the comment it answers); a "parent" model's scores live in ``context_scores``
    Column("context", String(20)),
)

# One row per (comment, text revision, model, label): a changed comment keeps the scores
# of its old text, and a new model's scores sit beside an old one's.
scores = Table(
    "scores",
    metadata,
    Column("comment_pk", BigId, ForeignKey("comments.pk"), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id"), primary_key=True),
    Column("label", String(40), primary_key=True),
    Column("value", Float, nullable=False),
    Column("windowed", Boolean, nullable=False),
    Index(None, "model_id", "label", "value"),
    sqlite_with_rowid=False,
)

# The in-context scores of a context model ("parent"): one row per (comment, text revision,
# model, label), with the hash of the parent text the reply was read with, so a changed
# parent is seen and the reply read again. Kept apart from ``scores`` so that every reader
# of ``scores`` stays context-free.
context_scores = Table(
    "context_scores",
    metadata,
    Column("comment_pk", BigId, ForeignKey("comments.pk"), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id"), primary_key=True),
    Column("label", String(40), primary_key=True),
    Column("value", Float, nullable=False),
    Column("parent_hash", String(32), nullable=False),
    sqlite_with_rowid=False,
)

verdicts = Table(
    "verdicts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("comment_pk", BigId, ForeignKey("comments.pk"), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("reviewer", CleanText, nullable=False),
    Column("decision", String(10), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("note", CleanText),
    Column("created_at", UTCDateTime, nullable=False),
    # "dashboard", "cli" or "api" (the service's suggestscore, with the client's ids)
    Column("source", String(20), nullable=False, server_default="dashboard"),
    Column("community_id", CleanText),
    Column("client_token", CleanText),
    # the bulk action (one click on several comments) this verdict was part of, so it can be undone
    Column("action_id", String(32), index=True),
    CheckConstraint("decision IN ('approve', 'remove', 'relabel')", name="decision"),
)

# Kept current by every import (and recomputed on open when ``stats_version`` is older than
# ``analytics.STATS_VERSION``), so listing threads never aggregates comments.
thread_stats = Table(
    "thread_stats",
    metadata,
    Column("thread_id", CleanText, ForeignKey("threads.id"), primary_key=True),
    Column("stats_version", Integer, nullable=False),
    Column("comments", Integer, nullable=False),
    Column("authors", Integer, nullable=False),
    Column("max_depth", Integer, nullable=False),
    Column("mean_depth", Float, nullable=False),
    Column("scored", Integer, nullable=False),
    Column("toxic", Integer, nullable=False),
    Column("toxic_share", Float),
    Column("mean_toxicity", Float),
    Column("p90_toxicity", Float),
    Column("max_toxicity", Float),
    Column("top_label", String(40)),
    Column("first_at", UTCDateTime),
    Column("last_at", UTCDateTime),
    Column("risk", Float, nullable=False, index=True),
    Column("labels", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # whether the numbers above use in-context scores (a context model scored the thread);
    # then the *_alone columns hold the context-free ones (NULL: the same as above)
    Column("context", Boolean, nullable=False, server_default=false()),
    Column("risk_alone", Float),
    Column("toxic_alone", Integer),
    Column("toxic_share_alone", Float),
    Column("max_toxicity_alone", Float),
)


RULE_KINDS = ("words", "regex", "link", "new_author")
RULE_SEVERITIES = ("banned", "suspect")

# Moderation rules beside the models: word lists, regular expressions, links, new authors.
# ``pattern`` holds one entry a line (words, patterns, or the link rule's allowed domains);
# ``scope`` is "all" or prefixes of a thread's id, source or format, one a line.
rules = Table(
    "rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", CleanText, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("severity", String(10), nullable=False, server_default="suspect"),
    Column("pattern", CleanText, nullable=False, server_default=""),
    Column("scope", CleanText, nullable=False, server_default="all"),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("kind IN ('words', 'regex', 'link', 'new_author')", name="kind"),
    CheckConstraint("severity IN ('banned', 'suspect')", name="severity"),
)

# Which comment (at which text revision) a rule flagged, and why, in words a reviewer reads.
rule_hits = Table(
    "rule_hits",
    metadata,
    Column("comment_pk", BigId, ForeignKey("comments.pk"), primary_key=True),
    Column("rule_id", Integer, ForeignKey("rules.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("revision", Integer, nullable=False),
    Column("reason", CleanText, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Where alerts go: a URL, the shared secret its payloads are signed with (HMAC-SHA256), and
# what raises one (risk or toxic share crossing a threshold, new rule hits), within a scope.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", CleanText, nullable=False),
    Column("url", CleanText, nullable=False),
    Column("secret", CleanText, nullable=False),
    Column("risk_threshold", Float),
    Column("toxic_share_threshold", Float),
    Column("on_rule_hits", Boolean, nullable=False, server_default=true()),
    Column("scope", CleanText, nullable=False, server_default="all"),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("created_at", UTCDateTime, nullable=False),
)

# One row per (event, webhook): written in the import's transaction (an outbox, so a
# rolled-back import leaves none) and delivered after it commits.
alerts = Table(
    "alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(32), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("thread_id", CleanText),
    Column("summary", CleanText, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="SET NULL")),
    Column("url", CleanText, nullable=False),
    # pending -> sending -> delivered | failed
    Column("status", String(12), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_status_code", Integer),
    Column("last_error", CleanText),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("delivered_at", UTCDateTime),
)

# Every delivery attempt of an alert, whatever came of it.
alert_attempts = Table(
    "alert_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("alert_id", BigId, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status_code", Integer),
    Column("error", CleanText),
    Column("ok", Boolean, nullable=False),
    Column("seconds", Float, nullable=False),
)
