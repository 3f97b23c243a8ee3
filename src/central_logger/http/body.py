"""Request bodies read by hand, so that size, encoding and JSON syntax each get a
clear 4xx before validation: a gzip bomb, NaN or a lone surrogate never reach the
database."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request

from central_logger.http.problems import FieldError, ProblemError
from central_logger.settings import Settings

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


@dataclass(frozen=True, slots=True)
class JsonLimits:
    max_depth: int = 32
    max_string_length: int = 65_536


def json_limits(settings: Settings) -> JsonLimits:
    return JsonLimits(settings.max_json_depth, settings.max_string_length)


# The structure of a JSON text at C speed, without a Python walk of the parsed value:
# neutralise escapes (each escape keeps at least one byte, so a string's length in the
# text never drops below its decoded length), then every '"' delimits a string.
_ESCAPED_BACKSLASH = b"\\\\"
_ESCAPED_QUOTE = b'\\"'
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"{}[]")
_NOT_BRACKET_OR_QUOTE = bytes(b for b in range(256) if b not in b'{}[]"')


@dataclass(frozen=True, slots=True)
class _Shape:
    # The brackets outside strings, in order.
    brackets: bytes
    # False only when no string can be longer than the limit the shape was taken for.
    may_hold_long_string: bool


def _neutralised(text: bytes) -> bytes:
    return text.replace(_ESCAPED_BACKSLASH, b"x").replace(_ESCAPED_QUOTE, b"x")


def _quick_brackets(neutral: bytes) -> bytes | None:
    """The brackets outside strings when no string holds a bracket (nearly always),
    else None. With only brackets and quotes kept, such strings are bare '""' pairs,
    and one left-to-right pass removes every pair; a quote left over means some string
    held a bracket, and splitting at every quote must decide."""
    brackets = neutral.translate(None, _NOT_BRACKET_OR_QUOTE).replace(b'""', b"")
    return None if b'"' in brackets else brackets


def _may_hold_long_string(neutral: bytes, max_length: int) -> bool:
    """A string longer than `max_length` is a quote-free run of more than `max_length`
    bytes, and such a run covers a whole aligned block of half that size: a block
    without a quote is the only way one can exist (memchr per block, not per string)."""
    if len(neutral) <= max_length:
        return False
    block = max(1, (max_length + 1) // 2)
    return any(b'"' not in neutral[i : i + block] for i in range(0, len(neutral), block))


def _shape(text: bytes, max_string_length: int) -> _Shape:
    neutral = _neutralised(text)
    brackets = _quick_brackets(neutral)
    if brackets is not None:
        return _Shape(brackets, _may_hold_long_string(neutral, max_string_length))
    parts = neutral.split(b'"')
    return _Shape(
        brackets=b"".join(parts[::2]).translate(None, _NOT_BRACKET),
        may_hold_long_string=max(map(len, parts[1::2]), default=0) > max_string_length,
    )


def _key_count(text: bytes) -> int:
    """Colons outside strings: one per object key."""
    parts = _neutralised(text).split(b'"')
    return text.count(b":") - b"".join(parts[1::2]).count(b":")


def _deeper_than(brackets: bytes, max_depth: int) -> bool:
    for _ in range(max_depth):
        if not brackets:
            return False
        # Each round removes the innermost level of nesting.
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
    return bool(brackets)


def _long_string_path(value: Any, max_length: int) -> str | None:
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if len(item) > max_length:
                return path or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                if len(key) > max_length:
                    return child_path[:200] + "…"
                stack.append((child, child_path))
        elif isinstance(item, list):
            stack.extend((child, f"{path}.{i}" if path else str(i)) for i, child in enumerate(item))
    return None


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKeyError(key)
        seen[key] = value
    return seen


def _duplicate_key(raw: bytes) -> str | None:
    """The slow path, taken only when the fast count says a key repeats."""
    try:
        json.loads(raw, object_pairs_hook=_refuse_duplicates)
    except _DuplicateKeyError as exc:
        return exc.key
    return None


def _check_structure(raw: bytes, value: Any, limits: JsonLimits) -> None:
    shape = _shape(raw, limits.max_string_length)
    if _deeper_than(shape.brackets, limits.max_depth):
        raise ProblemError(
            422,
            f"The JSON body nests deeper than {limits.max_depth} levels",
            errors=[FieldError(field="body", reason=f"nested deeper than {limits.max_depth}")],
        )
    # orjson keeps the last of repeated keys silently. Parsing kept every key iff the
    # parsed value, serialised again, has as many keys as the text had. Compact JSON
    # as orjson writes it (our shipper's, usually) comes back byte for byte, which
    # proves no key was dropped without counting (~9 ms per MB saved).
    canonical = orjson.dumps(value) if isinstance(value, (dict, list)) else raw
    if canonical != raw and _key_count(raw) != _key_count(canonical):
        key = _duplicate_key(raw)
        if key is not None:
            raise ProblemError(
                422,
                f"The JSON body repeats the key {key!r} in one object",
                errors=[FieldError(field="body", reason=f"duplicate key {key!r}")],
            )
    if shape.may_hold_long_string:
        path = _long_string_path(value, limits.max_string_length)
        if path is not None:
            raise ProblemError(
                422,
                f"A string is longer than {limits.max_string_length} characters",
                errors=[
                    FieldError(
                        field=path, reason=f"longer than {limits.max_string_length} characters"
                    )
                ],
            )


async def read_json(
    request: Request, *, max_bytes: int, limits: JsonLimits | None = None
) -> JsonBody:
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
    _check_structure(raw, value, limits or JsonLimits())
    return JsonBody(value, may_contain_nul=b"\\u0000" in raw)


async def read_raw(request: Request, *, max_bytes: int) -> bytes:
    """The body as bytes, size-limited and gunzipped (for non-JSON media types)."""
    return _decode(request, await _read_limited(request, max_bytes), max_bytes)
