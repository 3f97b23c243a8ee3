"""A page of the log list, read window by window over the daily partitions.

A statement over workflow_logs is planned for every partition its time bounds do not
rule out: with no bounds (the dashboard's default list), a year of daily partitions
cost ~60 ms of planning per page on a 2-core machine, against ~1 ms for a month's
(docs/performance.md, "Time partitions"). So a page is read in windows of at most
`WINDOW_PARTITIONS` partitions, newest first (oldest first for `order=asc`): a busy
tenant's page and its bounded count come from the first window, one statement as
before. When the first window leaves the page short, the rest are narrowed to the days
on which the rollups hold the tenant's logs, so a filter that matches nothing does not
read a year of windows to say so. Which partitions exist is read from the catalog in
the same transaction, so a day made a moment ago is never missed.

The window's statements take generic plans (`plan_cache_mode`, for this transaction):
a custom plan is made anew for every execution, and for a window of partitions it
cost 1.6-6.7 ms where the generic plan, pruned when it starts, runs in ~0.3 ms
(measured with 365 daily partitions on PostgreSQL 15; docs/performance.md).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.db import partitions
from central_logger.logs import repository
from central_logger.logs.models import LogQuery, Page, Position

WINDOW_PARTITIONS = 31


def windows(
    days: list[date],
    *,
    executed_from: datetime | None,
    executed_to: datetime | None,
    newest_first: bool,
) -> list[tuple[datetime, datetime]]:
    """[start, end) spans of at most WINDOW_PARTITIONS existing daily partitions within
    the query's bounds, in the order the page reads them."""
    inside = [
        day
        for day in sorted(days)
        if (executed_to is None or partitions.day_start(day) < executed_to)
        and (executed_from is None or partitions.day_start(day + timedelta(days=1)) > executed_from)
    ]
    spans = []
    for first in range(0, len(inside), WINDOW_PARTITIONS):
        chunk = inside[first : first + WINDOW_PARTITIONS]
        start = partitions.day_start(chunk[0])
        end = partitions.day_start(chunk[-1] + timedelta(days=1))
        if executed_from is not None:
            start = max(start, executed_from)
        if executed_to is not None:
            end = min(end, executed_to)
        spans.append((start, end))
    return spans[::-1] if newest_first else spans


async def read_page(
    conn: AsyncConnection,
    *,
    query: LogQuery,
    newest_first: bool,
    after: Position | None,
    offset: int,
    limit: int,
    count_limit: int,
) -> Page:
    """`repository.select_page` over the whole range, as the windows give it: up to
    `limit` rows after `offset` (or after the cursor), and the rows matching the
    filters counted up to `count_limit` (a window that would take the page past
    `offset` counts at least that far, so the page starts where it should)."""
    query = behind_cursor(after, query=query, newest_first=newest_first)
    days = await partitions.days_for_reading(conn, custom_plans=query.q is not None)
    spans = windows(
        days,
        executed_from=query.executed_from,
        executed_to=query.executed_to,
        newest_first=newest_first,
    )
    items: list[dict[str, Any]] = []
    counted = 0
    skip = offset  # rows of the offset not yet passed
    read = 0
    while read < len(spans):
        if len(items) >= limit and counted >= count_limit:
            break
        if read == 1 and query.client_id is not None:
            spans = spans[:1] + await _windows_holding(
                conn, query=query, days=days, after_window=spans[0], newest_first=newest_first
            )
            if len(spans) == 1:
                break
        start, end = spans[read]
        read += 1
        window = dataclasses.replace(query, executed_from=start, executed_to=end)
        # Count far enough to know whether the offset ends in this window.
        budget = max(count_limit - counted, skip + 1)
        rows: list[dict[str, Any]] = []
        matching: int | None = None
        if len(items) < limit:
            page = await repository.select_page(
                conn,
                query=window,
                newest_first=newest_first,
                after=after,
                offset=skip,
                limit=limit - len(items),
                count_limit=budget,
            )
            rows, matching = page.items, page.matching
        if matching is None:
            matching = await repository.count_matching(conn, query=window, limit=budget)
        counted += matching
        items += rows
        # The offset ends in the window that returned rows; else the window was passed.
        skip = 0 if rows else max(0, skip - matching)
    return Page(items=items, matching=counted)


def behind_cursor(after: Position | None, *, query: LogQuery, newest_first: bool) -> LogQuery:
    """The query's range cut at the cursor: a later page never reads the days before it."""
    if after is None:
        return query
    if newest_first:
        # The cursor's own instant stays in: rows at it with a lower id come next.
        end = after.executed_at + timedelta(microseconds=1)
        if query.executed_to is None or end < query.executed_to:
            return dataclasses.replace(query, executed_to=end)
    elif query.executed_from is None or after.executed_at > query.executed_from:
        return dataclasses.replace(query, executed_from=after.executed_at)
    return query


async def _windows_holding(
    conn: AsyncConnection,
    *,
    query: LogQuery,
    days: list[date],
    after_window: tuple[datetime, datetime],
    newest_first: bool,
) -> list[tuple[datetime, datetime]]:
    """The windows past the first, over only the days on which the tenant has logs the
    query may match (the rollups know them). Asked only when the first window left the
    page short: a page with nothing or little to show (a filter that matches nothing, a
    tenant that sends once a week) would otherwise read every window of the year, ~60
    ms of statements that find nothing; one rollup query (~5 ms) rules those out."""
    start, end = after_window
    rest = (
        dataclasses.replace(query, executed_to=start)
        if newest_first
        else dataclasses.replace(query, executed_from=end)
    )
    holding = await repository.select_days_holding(conn, query=rest)
    return windows(
        [day for day in days if day in holding],
        executed_from=rest.executed_from,
        executed_to=rest.executed_to,
        newest_first=newest_first,
    )
