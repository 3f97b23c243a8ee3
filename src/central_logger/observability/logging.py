"""The service's own logs: one JSON object a line (structlog), or readable lines on a
terminal, with the request id of the request that wrote them.

Every module logs through the standard library (`logging.getLogger(__name__)`), and so
do uvicorn and SQLAlchemy; structlog's ProcessorFormatter renders all of them alike.
LOG_FORMAT=auto (the default) writes JSON unless the output is a terminal.

Keys never reach a log line: nothing logs headers, a key sent in a query string is
redacted from the access line (http/security.py) before it is formatted, and a
client's X-Request-ID is refused when it looks like a key (request_id.py).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from central_logger.settings import Settings

_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


def _access_fields(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """uvicorn's access line as fields too: its arguments are (client, method, path
    with query, HTTP version, status)."""
    # The formatter hands every record's arguments over (pass_foreign_args); only the
    # access line's become fields, the others' are in the message already.
    args = event.pop("positional_args", None)
    record = event.get("_record")
    is_access = record is not None and record.name == "uvicorn.access"
    if is_access and isinstance(args, tuple) and len(args) == len(_ACCESS_FIELDS):
        event.update(zip(_ACCESS_FIELDS, args, strict=True))
    return event


def _pre_chain() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _access_fields,
    ]


def wants_json(settings: Settings) -> bool:
    if settings.log_format == "auto":
        return not sys.stdout.isatty()
    return settings.log_format == "json"


def log_config(settings: Settings) -> dict[str, Any]:
    """A logging.config.dictConfig for the service (uvicorn's `log_config`)."""
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if wants_json(settings)
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    level = settings.log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": _pre_chain(),
                "pass_foreign_args": True,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
            }
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "stream": "ext://sys.stdout",
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # uvicorn's own handlers give way to the root's.
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": level, "propagate": True},
        },
    }


def startup_message(settings: Settings, text: str) -> str:
    """The start-up banner as the log format wants it: as it is on a terminal, one JSON
    line otherwise (so a log shipper parses every line)."""
    if not wants_json(settings):
        return text
    logger = logging.getLogger("central_logger.serve")
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 0, text.strip(), (), None)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_pre_chain(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(),
        ],
    )
    return formatter.format(record)
