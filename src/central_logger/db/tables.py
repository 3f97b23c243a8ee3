"""Every table and index of the schema, as SQLAlchemy Core: what the database holds
and what queries are written against.

This is the readable source of the schema, with `db/sql/` for its functions, triggers
and row-level security (`db/definitions.py` names them). Migrations record how a
database got here; `tests/api/test_schema_source.py` fails when a migrated database and
this source disagree, so a change to the schema is a change here plus a migration.

What SQLAlchemy cannot state is stated beside the table it belongs to and checked by
the same test: storage parameters (`STORAGE`) and the tables under tenant row-level
security (`definitions.TENANT_ISOLATED`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    Float,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

# Stable constraint names, so migrations can refer to them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# --- logs ------------------------------------------------------------------------------

# Search (`q` on the list, logs/repository.py; issue 14): the words of a log, as the
# function db/sql/workflow_log_search_document.sql makes them.
SEARCH_DOCUMENT = "workflow_log_search_document(ticket_id, category, payload)"

# Partitioned by day of executed_at (UTC), one partition per day: retention drops whole
# days, and a query bounded in time reads only its days' indexes (docs/data-layer.md,
# "Time partitions"). Partitions are made by db/sql/workflow_logs_create_partition.sql,
# ahead of time by the service and on demand by the writer; they are not in this source.
#
# No primary key: one would have to include executed_at, so it could not say that an id
# is unique per tenant. workflow_log_ids says it, across every partition.
workflow_logs = Table(
    "workflow_logs",
    metadata,
    Column("id", UUID(as_uuid=True), nullable=False),
    Column("client_id", Text, nullable=False),
    Column("environment", Text, nullable=False),
    Column("workflow_version", Text),
    Column("ticket_id", Text),
    Column("executed_at", DateTime(timezone=True), nullable=False),
    Column("execution_time_seconds", Float),
    Column("status", Text, nullable=False),
    Column("category", Text),
    Column("resolution_status", Text),
    Column("metrics", JSONB),
    Column("payload", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Newest-first listing, the detail lookup (client_id, executed_at, id from
    # workflow_log_ids), and the metrics scans; INCLUDE makes the metrics an index-only
    # scan (rows are wide: each matching row would be its own page read).
    Index(
        "ix_workflow_logs_client_executed",
        "client_id",
        text("executed_at DESC"),
        text("id DESC"),
        postgresql_include=["status", "execution_time_seconds", "category", "environment"],
    ),
    # The admin's all-clients listing.
    Index("ix_workflow_logs_executed", text("executed_at DESC"), text("id DESC")),
    # Filtered listings in keyset order; the other filter columns are included, so a
    # status + environment page and its bounded count read no heap to filter.
    Index(
        "ix_workflow_logs_client_status",
        "client_id",
        "status",
        text("executed_at DESC"),
        text("id DESC"),
        postgresql_include=["environment", "category", "execution_time_seconds"],
    ),
    Index(
        "ix_workflow_logs_client_category",
        "client_id",
        "category",
        text("executed_at DESC"),
        text("id DESC"),
        postgresql_include=["environment", "status", "execution_time_seconds"],
    ),
    Index(
        "ix_workflow_logs_client_ticket",
        "client_id",
        "ticket_id",
        postgresql_where=text("ticket_id IS NOT NULL"),
    ),
    # Search (20261130_search): a log's words.
    # fastupdate off: with it, the insert that overflows the pending list merges it into
    # the index, and a single log's commit waited ~100 ms behind that (fairness tests).
    Index(
        "ix_workflow_logs_search",
        text(SEARCH_DOCUMENT),
        postgresql_using="gin",
        postgresql_with={"fastupdate": "off"},
    ),
    postgresql_partition_by="RANGE (executed_at)",
)

# Search: ticket ids by prefix, case-insensitively. text_pattern_ops compares bytes, so
# the repository's range (~>=~, ~<~) over the lower-cased id is a prefix in any database
# collation, and takes bound values (a LIKE with a bound pattern cannot use an index
# under the list's generic plans).
Index(
    "ix_workflow_logs_client_ticket_prefix",
    workflow_logs.c.client_id,
    func.lower(workflow_logs.c.ticket_id).label("ticket_lower"),
    postgresql_ops={"ticket_lower": "text_pattern_ops"},
)

# Every stored log's id, in one table for all partitions: the id is the client's
# idempotency key, unique per tenant (a replay is a duplicate even when its time
# differs, so it would land in another partition), and a tenant can never learn that
# another tenant used the same id. executed_at leads a detail lookup to the one
# partition that holds the log. Retention deletes a log's id with the log.
workflow_log_ids = Table(
    "workflow_log_ids",
    metadata,
    Column("id", UUID(as_uuid=True), nullable=False),
    Column("client_id", Text, nullable=False),
    Column("executed_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("id", "client_id"),
)

# --- metrics rollups ---------------------------------------------------------------------
# Ingestion never updates a shared row: the trigger workflow_logs_rollup_delta
# (db/sql/) appends what each INSERT statement added to the *_pending tables, and
# workflow_log_rollup_fold() moves pending deltas into the hourly and daily levels.
# Queries read the levels and the pending deltas together (metrics/repository.py).


def _rollup_key_or_index(
    name: str, key: tuple[str, ...], *, pending: bool
) -> Index | PrimaryKeyConstraint:
    """A level's rows are keyed (the fold upserts them); pending deltas have no key (the
    trigger only appends, the fold deletes them all) and an index for a tenant's reads."""
    if pending:
        return Index(f"ix_{name}_client_hour", "client_id", "hour")
    return PrimaryKeyConstraint(*key)


def _count_rollup(name: str, time_column: str, *, pending: bool = False) -> Table:
    """Counts per (client, hour or day, environment, category, status); a category-less
    log counts under ''."""
    key = ("client_id", time_column, "environment", "category", "status")
    return Table(
        name,
        metadata,
        Column("client_id", Text, nullable=False),
        Column(time_column, DateTime(timezone=True), nullable=False),
        Column("environment", Text, nullable=False),
        Column("category", Text, nullable=False),
        Column("status", Text, nullable=False),
        Column("runs", BigInteger, nullable=False),
        Column("failed_runs", BigInteger, nullable=False),
        Column("time_count", BigInteger, nullable=False),
        Column("time_sum", Float, nullable=False),
        _rollup_key_or_index(name, key, pending=pending),
    )


def _dimension_rollup(name: str, time_column: str, *, pending: bool = False) -> Table:
    """Per (client, hour or day, dimension, value): `dimension` is 'environment' (the
    overview) or 'category' (the categories view). `buckets` ascending, `logs[i]` the
    logs with a duration in buckets[i] (metrics/histogram.py), only buckets that hold
    logs; the counts are of all the value's logs."""
    key = ("client_id", "dimension", time_column, "value")
    return Table(
        name,
        metadata,
        Column("client_id", Text, nullable=False),
        Column(time_column, DateTime(timezone=True), nullable=False),
        Column("dimension", Text, nullable=False),
        Column("value", Text, nullable=False),
        Column("buckets", ARRAY(SmallInteger), nullable=False),
        Column("logs", ARRAY(BigInteger), nullable=False),
        Column("runs", BigInteger, nullable=False, server_default=text("0")),
        Column("failed_runs", BigInteger, nullable=False, server_default=text("0")),
        Column("time_count", BigInteger, nullable=False, server_default=text("0")),
        Column("time_sum", Float, nullable=False, server_default=text("0")),
        _rollup_key_or_index(name, key, pending=pending),
    )


rollup_pending = _count_rollup("workflow_log_rollup_pending", "hour", pending=True)
rollup_hourly = _count_rollup("workflow_log_rollup_hourly", "hour")
rollup_daily = _count_rollup("workflow_log_rollup_daily", "day")

histogram_pending = _dimension_rollup("workflow_log_rollup_histogram_pending", "hour", pending=True)
histogram_hourly = _dimension_rollup("workflow_log_rollup_histogram_hourly", "hour")
histogram_daily = _dimension_rollup("workflow_log_rollup_histogram_daily", "day")

# --- pick-lists --------------------------------------------------------------------------

# Every label value a tenant's logs have used (20261130_search): written by the trigger
# workflow_logs_values (db/sql/), read by GET /api/v1/logs/values. Values are kept when
# retention deletes the logs that used them.
LABEL_FIELDS = ("environment", "status", "category", "workflow_version", "resolution_status")
label_values = Table(
    "workflow_log_values",
    metadata,
    Column("client_id", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("client_id", "field", "value"),
)

# --- OpenTelemetry -----------------------------------------------------------------------

# Spans staged until their trace's log is whole (otlp/).
otlp_spans = Table(
    "otlp_spans",
    metadata,
    Column("client_id", Text, nullable=False),
    Column("trace_id", Text, nullable=False),
    Column("span_id", Text, nullable=False),
    Column("parent_span_id", Text),
    Column("name", Text, nullable=False),
    Column("start_unix_nano", BigInteger, nullable=False),
    Column("end_unix_nano", BigInteger, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("status_message", Text, nullable=False),
    Column("attributes", JSONB, nullable=False),
    Column("resource", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # What else the SDK sent (20261130_otlp_detail): SpanKind, Span.flags (a remote
    # parent), the instrumentation scope, events and links, as otlp/schemas.Span has them.
    Column("kind", SmallInteger, nullable=False, server_default=text("0")),
    Column("flags", BigInteger, nullable=False, server_default=text("0")),
    Column("scope", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("events", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("links", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    PrimaryKeyConstraint("client_id", "trace_id", "span_id"),
    # Staged spans older than the assembly window are swept by age.
    Index("ix_otlp_spans_received", "received_at"),
)

# --- keys and audit (the provider's, not under tenant row-level security) --------------

api_keys = Table(
    "api_keys",
    metadata,
    # The public, recognisable part of the key ("cl_" + 8 characters); safe to log.
    Column("prefix", Text, primary_key=True),
    # SHA-256 of the whole key: keys carry 256 bits of entropy, so a slow hash buys nothing.
    Column("key_hash", LargeBinary, nullable=False, unique=True),
    Column("client_id", Text, nullable=False),
    Column("name", Text),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_used_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    # Derived by PostgreSQL from the admin scope, the one source of truth for admin-ness
    # (last: migration 20261128_admin_scope re-added it as a generated column).
    Column("is_admin", Boolean, Computed("'admin' = ANY (scopes)", persisted=True), nullable=False),
)

# The provider's trail: failed authentications (aggregated per minute and key prefix),
# key changes, admin cross-tenant reads. Never a key, only its public prefix.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("kind", Text, nullable=False),
    Column("actor", Text),
    Column("client_id", Text),
    Column("remote_addr", Text),
    Column("count", Integer, nullable=False, server_default=text("1")),
    Column("detail", JSONB),
    # Newest first, for the admin's audit listing.
    Index("ix_audit_events_occurred", text("occurred_at DESC"), text("id DESC")),
)

# --- retention (the provider's) ------------------------------------------------------------

# A tenant's own retention; tenants without a row get RETENTION_DAYS and
# ROLLUP_RETENTION_DAYS (retention/service.py).
retention_policies = Table(
    "retention_policies",
    metadata,
    Column("client_id", Text, primary_key=True),
    Column("logs_days", Integer, nullable=False),
    # NULL: the global ROLLUP_RETENTION_DAYS (never shorter than logs_days).
    Column("rollup_days", Integer),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The public prefix of the admin key that set it (or "cli").
    Column("updated_by", Text),
    CheckConstraint("logs_days > 0", name="logs_days_positive"),
    CheckConstraint("rollup_days IS NULL OR rollup_days >= logs_days", name="rollups_outlive_logs"),
)

# --- alerts (docs/alerts.md) ----------------------------------------------------------------
# Under tenant row-level security like the logs. A rule or channel the provider owns
# (`provider` true) has client_id NULL when it is for every client, so only admin
# transactions see it; one for a single client carries that client_id, and the service
# keeps it from the tenant's own listings.

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    # The tenant that owns it, or the one client a provider rule watches; NULL: a
    # provider rule over every client.
    Column("client_id", Text),
    Column("provider", Boolean, nullable=False),
    Column("name", Text, nullable=False),
    # failure_rate, no_runs, latency or count (alerts/schemas.py).
    Column("kind", Text, nullable=False),
    # failure_rate: percent; latency: seconds; count: runs. NULL for no_runs.
    Column("threshold", Float),
    Column("min_runs", Integer, nullable=False, server_default=text("1")),
    # latency: p50, p95 or p99.
    Column("percentile", Text),
    # count: only runs with this status.
    Column("status", Text),
    Column("environment", Text),
    Column("category", Text),
    Column("workflow_version", Text),
    # environment, category or version: one alert per value.
    Column("group_by", Text),
    Column("window_seconds", Integer, nullable=False),
    Column("for_seconds", Integer, nullable=False, server_default=text("0")),
    Column("repeat_seconds", Integer),
    Column("silenced_until", DateTime(timezone=True)),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_alert_rules_client_id", "client_id"),
)

alert_channels = Table(
    "alert_channels",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("client_id", Text),
    Column("provider", Boolean, nullable=False),
    Column("name", Text, nullable=False),
    # webhook, slack or email.
    Column("kind", Text, nullable=False),
    # The webhook or Slack URL, or the email recipients (comma-separated).
    Column("target", Text, nullable=False),
    # webhook: the Standard Webhooks secret ("whsec_..."); after a rotation the previous
    # one signs too until previous_secret_until, so receivers can switch without a gap.
    Column("secret", Text),
    Column("previous_secret", Text),
    Column("previous_secret_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_alert_channels_client_id", "client_id"),
)

alert_rule_channels = Table(
    "alert_rule_channels",
    metadata,
    Column("rule_id", BigInteger, nullable=False),
    Column("channel_id", BigInteger, nullable=False),
    Column("client_id", Text),
    PrimaryKeyConstraint("rule_id", "channel_id"),
)

# One row per (rule, evaluated client, group value): where its state machine stands.
alert_states = Table(
    "alert_states",
    metadata,
    Column("rule_id", BigInteger, nullable=False),
    Column("client_id", Text, nullable=False),
    # The group_by value; '' for an ungrouped rule.
    Column("group_key", Text, nullable=False),
    # ok, pending or firing (resolved is an event, after which the state is ok).
    Column("state", Text, nullable=False),
    Column("value", Float),
    Column("pending_since", DateTime(timezone=True)),
    Column("firing_since", DateTime(timezone=True)),
    Column("last_notified_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("rule_id", "client_id", "group_key"),
)

# Every state change: the history.
alert_events = Table(
    "alert_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("rule_id", BigInteger, nullable=False),
    Column("client_id", Text, nullable=False),
    Column("provider", Boolean, nullable=False),
    Column("group_key", Text, nullable=False),
    Column("from_state", Text, nullable=False),
    Column("to_state", Text, nullable=False),
    Column("value", Float),
    Column("threshold", Float),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Index("ix_alert_events_client_occurred", "client_id", text("occurred_at DESC")),
    Index("ix_alert_events_rule", "rule_id"),
)

# Notifications to send, written in the transaction of the state change they announce.
alert_outbox = Table(
    "alert_outbox",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    # The evaluated client; NULL for a test notification of a provider channel.
    Column("client_id", Text),
    Column("event_id", BigInteger),
    Column("rule_id", BigInteger),
    Column("channel_id", BigInteger, nullable=False),
    # firing, resolved, repeat or test.
    Column("reason", Text, nullable=False),
    Column("body", JSONB, nullable=False),
    # pending, sent or failed (gave up).
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    # A claimed row is left alone until then (a sender that died mid-send: retried).
    Column("claimed_until", DateTime(timezone=True)),
    Column("give_up_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Index(
        "ix_alert_outbox_due",
        "next_attempt_at",
        postgresql_where=text("status = 'pending'"),
    ),
    Index("ix_alert_outbox_event", "event_id"),
)

alert_delivery_attempts = Table(
    "alert_delivery_attempts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("outbox_id", BigInteger, nullable=False),
    Column("client_id", Text),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    # sent, retry or failed.
    Column("outcome", Text, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Float, nullable=False),
    Index("ix_alert_delivery_attempts_outbox", "outbox_id"),
)

# --- storage---------------------------------------------------------------------------

# Every fold deletes what a pending table holds: vacuum it after a thousand dead rows,
# not after a fifth of the table, so reads of the pending deltas stay a few pages.
_PENDING_STORAGE = {
    "autovacuum_vacuum_scale_factor": "0",
    "autovacuum_vacuum_threshold": "1000",
    "autovacuum_vacuum_cost_delay": "0",
}
# Storage parameters (ALTER TABLE ... SET (...)) by table.
STORAGE: dict[str, dict[str, str]] = {
    rollup_pending.name: _PENDING_STORAGE,
    histogram_pending.name: _PENDING_STORAGE,
}
# Where the server is built with lz4 (cheap enough for the ingestion path), the JSON
# columns use it; each partition then gets a lower TOAST target, which makes ~1 KB
# payloads (below the default 2 KB threshold) compressed inline (a partitioned table
# takes no storage parameters: workflow_logs_create_partition sets it). Without lz4,
# neither is set.
LZ4_COLUMNS = {workflow_logs.name: ("metrics", "payload")}
