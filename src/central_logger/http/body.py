"""Request bodies read by hand, so that size, encoding and JSON syntax each get a
clear 4xx before validation: a gzip bomb, NaN or a lone surrogate never reach the
database."""

from __future__ import annotations

import gc
import logging
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from central_logger.http.json_checks import (
    JsonLimits,
    check_text,
    check_value,
    neutralised,
)
from central_logger.http.problems import FieldError, ProblemError
from central_logger.settings import Settings

logger = logging.getLogger(__name__)

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
    """The body, up to `max_bytes` (413 beyond). Every JSON route has received its body
    before the handler runs (`http.dependencies.ReceivedBody`), so the value limit is
    decided on the whole text, before the parse (`check_text`)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes, "The request body")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes, "The request body")
            chunks.append(chunk)
    except ClientDisconnect:
        # The client went away mid-upload: an everyday event, not a fault. Nothing was
        # stored; the answer goes nowhere, but it ends the request like any other 4xx.
        logger.info("client disconnected after %d bytes of %s", size, request.url.path)
        raise ProblemError(
            400,
            "The client disconnected before the request body was complete",
            errors=[FieldError(field="body", reason="incomplete: client disconnected")],
        ) from None
    return b"".join(chunks)


async def receive(request: Request, *, max_bytes: int) -> bytes:
    """The raw body as it arrived (at most `max_bytes`, else 413; a client that leaves
    mid-upload is a 400 logged at info), for the dependency that receives every body
    before a shared resource is taken (`http.dependencies.ReceivedBody`)."""
    return await _read_limited(request, max_bytes)


def _bad_gzip(reason: str) -> ProblemError:
    return ProblemError(
        400, "The body is not valid gzip", errors=[FieldError(field="body", reason=reason)]
    )


_GZIP_MAGIC = b"\x1f\x8b"


def _gunzip_limited(data: bytes, max_bytes: int) -> bytes:
    """Every member of a gzip body (RFC 1952 allows several, and `gzip.decompress`
    reads them all), each checked to its end: a truncated stream, a wrong CRC or length
    and bytes after the last member are refused, never stored as far as they went.
    At most `max_bytes + 1` bytes are ever inflated (the bomb stops there)."""
    out = bytearray()
    rest = data
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(rest, max_bytes + 1 - len(out))
        except zlib.error as exc:
            # zlib checks the trailer: "incorrect data check" (CRC-32), "incorrect
            # length check" (ISIZE), and header or deflate errors.
            raise _bad_gzip(f"gzip: {exc}") from exc
        if len(out) > max_bytes or inflater.unconsumed_tail:
            raise _too_large(max_bytes, "The decompressed request body")
        if not inflater.eof:
            raise _bad_gzip("gzip: truncated; the stream ends before its end marker")
        rest = inflater.unused_data
        if not rest:
            return bytes(out)
        if not rest.startswith(_GZIP_MAGIC):
            raise _bad_gzip(f"gzip: {len(rest)} bytes of trailing data after the stream")


def _content_encoding(request: Request) -> str:
    return request.headers.get("content-encoding", "identity").strip().lower()


def _decode(request: Request, raw: bytes, max_bytes: int) -> bytes:
    encoding = _content_encoding(request)
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
    # when the text has no such escape, nothing needs a look.
    may_contain_nul: bool


def json_limits(settings: Settings) -> JsonLimits:
    return JsonLimits(settings.max_json_depth, settings.max_string_length, settings.max_json_values)


def _parse(raw: bytes) -> Any:
    # The cyclic collector runs every 700 new containers and, as they pile up, over
    # everything alive: during the parse of a body of many small arrays it costs several
    # times the parse itself (1.7 s against 0.4 s for 1.3M arrays). Nothing else runs
    # while orjson holds the GIL, and the parse makes no cycles to collect.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return orjson.loads(raw)
    finally:
        if collecting:
            gc.enable()


async def json_text(request: Request, *, max_bytes: int) -> bytes:
    """The body's JSON text: the media type checked, gunzipped, not empty. Nothing of it
    is parsed yet (`parse_json`)."""
    _check_content_type(request)
    raw = _decode(request, await _read_limited(request, max_bytes), max_bytes)
    if not raw.strip():
        raise ProblemError(
            400, "The request body is empty", errors=[FieldError(field="body", reason="empty")]
        )
    return raw


async def read_json(
    request: Request, *, max_bytes: int, limits: JsonLimits | None = None
) -> JsonBody:
    text = await json_text(request, max_bytes=max_bytes)
    # Every step of the parse is C-speed or bounded by the value limit, yet on a large
    # body it is still tens of milliseconds: in a worker thread, the event loop gets the
    # GIL back between steps (and every few milliseconds within a Python one) to serve
    # other requests, instead of waiting for the whole body. Ingestion sends its large
    # bodies to a worker process instead (`http.offload`).
    return await run_in_threadpool(parse_json, text, limits or JsonLimits())


def parse_json(raw: bytes, limits: JsonLimits) -> JsonBody:
    """The parsed body, after every check the parser does not make (a 400, 413 or 422
    otherwise). Synchronous and self-contained, so a worker process can run it."""
    neutral = neutralised(raw)
    structure = check_text(neutral, limits)
    try:
        value = _parse(raw)
    except orjson.JSONDecodeError as exc:
        raise ProblemError(
            400,
            "The request body is not valid JSON",
            errors=[FieldError(field="body", reason=str(exc))],
        ) from exc
    check_value(raw, neutral, structure, value, limits)
    return JsonBody(value, may_contain_nul=b"\\u0000" in neutral)


async def read_raw(request: Request, *, max_bytes: int) -> bytes:
    """The body as bytes, size-limited and gunzipped (for non-JSON media types)."""
    return _decode(request, await _read_limited(request, max_bytes), max_bytes)
