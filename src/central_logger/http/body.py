"""Request bodies read by hand, so that size, encoding and JSON syntax each get a
clear 4xx before validation: a gzip bomb, NaN or a lone surrogate never reach the
database."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request

from central_logger.http.problems import FieldError, ProblemError

_JSON_MEDIA_TYPES = ("application/json",)


def _check_content_type(request: Request) -> None:
    content_type = request.headers.get("content-type")
    if content_type is None:
        return  # curl without -H, most HTTP libraries with raw bytes: read as JSON
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in _JSON_MEDIA_TYPES and not media_type.endswith("+json"):
        raise ProblemError(
            415,
            f"Content-Type {media_type!r} is not supported; send application/json",
            errors=[FieldError(field="header.content-type", reason="must be application/json")],
        )


def _too_large(max_bytes: int, what: str) -> ProblemError:
    return ProblemError(
        413,
        f"{what} is larger than the limit of {max_bytes} bytes",
        errors=[FieldError(field="body", reason=f"over {max_bytes} bytes")],
    )


async def _read_limited(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes, "The request body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes, "The request body")
        chunks.append(chunk)
    return b"".join(chunks)


def _gunzip_limited(data: bytes, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise ProblemError(
            400,
            "The body is not valid gzip",
            errors=[FieldError(field="body", reason=f"gzip: {exc}")],
        ) from exc
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise _too_large(max_bytes, "The decompressed request body")
    return out


def _decode(request: Request, raw: bytes, max_bytes: int) -> bytes:
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding in ("gzip", "x-gzip"):
        return _gunzip_limited(raw, max_bytes)
    raise ProblemError(
        415,
        f"Content-Encoding {encoding!r} is not supported; use gzip or none",
        errors=[FieldError(field="header.content-encoding", reason="must be gzip or identity")],
    )


@dataclass(frozen=True, slots=True)
class JsonBody:
    value: Any
    # A JSON string can hold NUL only as the escape \u0000, which PostgreSQL refuses;
    # when the raw bytes have no such escape, nothing needs walking.
    may_contain_nul: bool


async def read_json(request: Request, *, max_bytes: int) -> JsonBody:
    _check_content_type(request)
    raw = _decode(request, await _read_limited(request, max_bytes), max_bytes)
    if not raw.strip():
        raise ProblemError(
            400, "The request body is empty", errors=[FieldError(field="body", reason="empty")]
        )
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProblemError(
            400,
            "The request body is not valid JSON",
            errors=[FieldError(field="body", reason=str(exc))],
        ) from exc
    return JsonBody(value, may_contain_nul=b"\\u0000" in raw)
