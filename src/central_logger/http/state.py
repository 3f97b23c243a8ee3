"""What the app holds for its lifetime, built in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from central_logger.http.offload import CpuOffload
from central_logger.settings import Settings

if TYPE_CHECKING:
    from central_logger.audit.service import AuditRecorder
    from central_logger.auth.service import KeyStore
    from central_logger.logs.writer import LogWriter
    from central_logger.ratelimit.service import RateLimiter
    from central_logger.replica.service import ReadReplica
    from central_logger.retention.service import PolicyCache
    from central_logger.stream.hub import LiveHub


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    key_store: KeyStore
    rate_limiter: RateLimiter
    audit: AuditRecorder
    log_writer: LogWriter
    retention: PolicyCache
    # Large ingestion bodies are parsed and validated in worker processes.
    offload: CpuOffload
    # DATABASE_READ_URL's replica, when set.
    read_replica: ReadReplica | None = None
    # The live tail's fan-out in this process; None when LIVE_TAIL_ENABLED is off.
    live_hub: LiveHub | None = None
