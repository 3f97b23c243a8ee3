"""SQL for staged OpenTelemetry spans."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.otlp.schemas import Span


async def stage_spans(conn: AsyncConnection, *, client_id: str, spans: Sequence[Span]) -> None:
    """Keep every span until its trace is complete; a re-sent span is stored once."""
    await conn.execute(
        text(
            """
            INSERT INTO otlp_spans (client_id, trace_id, span_id, parent_span_id, name,
                                    start_unix_nano, end_unix_nano, status_code, status_message,
                                    attributes, resource, kind, flags, scope, events, links)
            SELECT :client_id, s.* FROM unnest(
                CAST(:trace_ids AS text[]), CAST(:span_ids AS text[]),
                CAST(:parent_span_ids AS text[]), CAST(:names AS text[]),
                CAST(:starts AS bigint[]), CAST(:ends AS bigint[]), CAST(:codes AS int[]),
                CAST(:messages AS text[]), CAST(:attributes AS jsonb[]),
                CAST(:resources AS jsonb[]), CAST(:kinds AS smallint[]),
                CAST(:flags AS bigint[]), CAST(:scopes AS jsonb[]),
                CAST(:events AS jsonb[]), CAST(:links AS jsonb[])
            ) AS s
            ON CONFLICT (client_id, trace_id, span_id) DO NOTHING
            """
        ),
        {
            "client_id": client_id,
            "trace_ids": [s.trace_id for s in spans],
            "span_ids": [s.span_id for s in spans],
            "parent_span_ids": [s.parent_span_id for s in spans],
            "names": [s.name for s in spans],
            "starts": [s.start_unix_nano for s in spans],
            "ends": [s.end_unix_nano for s in spans],
            "codes": [s.status_code for s in spans],
            "messages": [s.status_message for s in spans],
            "attributes": [orjson.dumps(s.attributes).decode() for s in spans],
            "resources": [orjson.dumps(s.resource).decode() for s in spans],
            "kinds": [s.kind for s in spans],
            "flags": [s.flags for s in spans],
            "scopes": [orjson.dumps(s.scope).decode() for s in spans],
            "events": [orjson.dumps(s.events).decode() for s in spans],
            "links": [orjson.dumps(s.links).decode() for s in spans],
        },
    )


async def select_trace_spans(
    conn: AsyncConnection, *, client_id: str, trace_ids: Sequence[str]
) -> Sequence[RowMapping]:
    result = await conn.execute(
        text(
            """
            SELECT trace_id, span_id, parent_span_id, name, start_unix_nano, end_unix_nano,
                   status_code, status_message, attributes, resource, kind, flags, scope,
                   events, links
            FROM otlp_spans
            WHERE client_id = :client_id AND trace_id = ANY(CAST(:trace_ids AS text[]))
            ORDER BY trace_id, start_unix_nano, span_id
            """
        ),
        {"client_id": client_id, "trace_ids": list(trace_ids)},
    )
    return result.mappings().all()


async def select_traces_received_before(
    conn: AsyncConnection, *, seconds_ago: int, window_seconds: int
) -> list[tuple[str, str]]:
    """(client_id, trace_id) of the traces that got spans in the `window_seconds` before
    `seconds_ago` seconds ago and none since, in order (the window keeps the hourly
    pass from reading a day of staged spans)."""
    result = await conn.execute(
        text(
            """
            SELECT DISTINCT s.client_id, s.trace_id FROM otlp_spans AS s
            WHERE s.received_at >= now() - make_interval(secs => :s + :w)
              AND s.received_at < now() - make_interval(secs => :s)
              AND NOT EXISTS (
                  SELECT 1 FROM otlp_spans AS later
                  WHERE later.client_id = s.client_id AND later.trace_id = s.trace_id
                    AND later.received_at >= now() - make_interval(secs => :s))
            ORDER BY s.client_id, s.trace_id
            """
        ),
        {"s": seconds_ago, "w": window_seconds},
    )
    return [(row.client_id, row.trace_id) for row in result]


async def delete_spans_received_before(conn: AsyncConnection, *, seconds_ago: int) -> int:
    result = await conn.execute(
        text("DELETE FROM otlp_spans WHERE received_at < now() - make_interval(secs => :s)"),
        {"s": seconds_ago},
    )
    return int(result.rowcount or 0)
