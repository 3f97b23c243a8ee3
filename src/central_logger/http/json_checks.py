"""Checks on a JSON body that a parser does not make: how many values, how deep, how
long a string, whether a key repeats, where a NUL is.

Every check is bounded and linear in the body, and runs at C speed (bytes methods over
the text, orjson over values): a 5 MB body may hold over a million values, and one pass
of Python over them holds the event loop for seconds. The value count is checked first,
before the parse, since the parse itself costs per value; a path is looked for only once
the text has shown there is something to find, and only along that path."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from central_logger.http.problems import FieldError, ProblemError


@dataclass(frozen=True, slots=True)
class JsonLimits:
    max_depth: int = 32
    max_string_length: int = 65_536
    # Values and object keys in one body: what the parse and every walk cost.
    max_values: int = 250_000


# The structure of a JSON text at C speed, without a Python walk of the parsed value:
# neutralise escapes, then every '"' delimits a string. Each escape becomes as many
# bytes as it had, so offsets in the neutral text are offsets in the body, and a
# string's length in the text never drops below its decoded length.
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"{}[]")
_NOT_STRUCTURE_OR_QUOTE = bytes(b for b in range(256) if b not in b'{}[],:"')
_NUL_ESCAPE = b"\\u0000"


def neutralised(text: bytes) -> bytes:
    """`text` with every escaped backslash and quote replaced by two plain bytes."""
    return text.replace(b"\\\\", b"xx").replace(b'\\"', b"xx")


def skeleton(neutral: bytes, max_values: int) -> bytes | None:
    """The structural bytes outside strings (`{}[],:`), in order; None when the text
    holds more than `max_values` strings that contain such bytes.

    With only those bytes and quotes kept, a string holding none of them is a bare '""'
    pair, and one left-to-right pass removes every such pair (in JSON a separator
    stands between any two strings, so a pair is never the end of one string and the
    start of the next). The strings left hold structural bytes (a timestamp's colons,
    say): splitting at their quotes makes an object per string, so their number is
    bounded first; each is a value of its own."""
    kept = neutral.translate(None, _NOT_STRUCTURE_OR_QUOTE)
    quick = kept.replace(b'""', b"")
    quotes = quick.count(b'"')
    if not quotes:
        return quick
    if quotes // 2 > max_values:
        return None
    return b"".join(quick.split(b'"')[::2])


def value_count(structure: bytes) -> int:
    """Values and object keys: one per '[', '{', ',' and ':', plus the first value."""
    return len(structure) - structure.count(b"]") - structure.count(b"}") + 1


def _deeper_than(brackets: bytes, max_depth: int) -> bool:
    for _ in range(max_depth):
        if not brackets:
            return False
        # Each round removes the innermost level of nesting.
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
    return bool(brackets)


def _long_string_at(raw: bytes, neutral: bytes, max_length: int) -> int:
    """The offset of the first string (value or key) that decodes to more than
    `max_length` characters, or -1.

    Such a string is a quote-free run of more than `max_length` bytes, and such a run
    covers a whole aligned block of half that size: only blocks without a quote need a
    look (memchr per block, not per string). A block lies inside a string when an odd
    number of quotes precede it; that one string is then decoded to measure it (escapes
    and UTF-8 make the text longer than the string)."""
    if len(neutral) <= max_length:
        return -1
    block = max(1, (max_length + 1) // 2)
    quotes_before = 0
    counted_to = 0
    start = 0
    while start < len(neutral):
        if neutral.find(b'"', start, start + block) != -1:
            start += block
            continue
        quotes_before += neutral.count(b'"', counted_to, start)
        counted_to = start
        if quotes_before % 2 == 0:  # a run outside strings: numbers, whitespace
            start += block
            continue
        opening = neutral.rfind(b'"', 0, start)
        closing = neutral.find(b'"', start)
        if closing - opening - 1 > max_length:
            decoded = orjson.loads(raw[opening : closing + 1])
            if len(decoded) > max_length:
                return opening
        # Resume after the string, keeping the parity count right.
        quotes_before += neutral.count(b'"', counted_to, closing + 1)
        counted_to = closing + 1
        start = (closing // block + 1) * block
    return -1


def _path_text(path: list[str | int]) -> str:
    return ".".join(str(part) for part in path) or "body"


def _walk_to_first(value: Any, is_hit: Callable[[str], bool]) -> list[str | int] | None:
    """The path of the first string or key for which `is_hit` is true: one iterative
    pass (the value count bounds it) that builds no path but the winner's: each frame
    points at its parent."""
    stack: list[tuple[Any, Any]] = [(value, None)]
    while stack:
        item, frame = stack.pop()
        kind = type(item)
        if kind is str:
            if is_hit(item):
                return _unwind(frame)
        elif kind is dict:
            for key in item:
                if is_hit(key):
                    return _unwind((key, frame))
            for key, child in reversed(item.items()):
                if type(child) in (str, dict, list):
                    stack.append((child, (key, frame)))
        elif kind is list:
            for index in range(len(item) - 1, -1, -1):
                child = item[index]
                if type(child) in (str, dict, list):
                    stack.append((child, (index, frame)))
    return None


def _unwind(frame: Any) -> list[str | int]:
    path: list[str | int] = []
    while frame is not None:
        part, frame = frame
        path.append(part)
    path.reverse()
    return path


def _first_nul(text: bytes) -> int:
    """Offset of the first NUL escape in JSON text, or -1."""
    return neutralised(text).find(_NUL_ESCAPE)


def _locate(value: Any, find: Callable[[bytes], int]) -> list[str | int] | None:
    """The path to what `find` finds in the value's JSON text (an offset, or -1), at
    C speed: the value is serialised once to see whether there is anything to find;
    then, level by level, the children of the container that holds it are serialised
    side by side, one per line (serialised JSON has no raw newline), and the line of
    the first hit names the child. Only containers on the path are looked into, and no
    Python walks their children one by one. A path ending in a key names that key."""
    if find(orjson.dumps(value)) < 0:
        return None
    path: list[str | int] = []
    node = value
    while True:
        if isinstance(node, dict):
            keys = list(node)
            lines = b"\n".join(map(orjson.dumps, keys))
            offset = find(lines)
            if offset >= 0:
                path.append(keys[lines.count(b"\n", 0, offset)])
                return path
            values = b"\n".join(map(orjson.dumps, node.values()))
            key = keys[values.count(b"\n", 0, find(values))]
            path.append(key)
            node = node[key]
        elif isinstance(node, list):
            lines = b"\n".join(map(orjson.dumps, node))
            index = lines.count(b"\n", 0, find(lines))
            path.append(index)
            node = node[index]
        else:
            return path


def nul_path(value: Any) -> list[str | int] | None:
    """The path of the first string or key holding NUL, or None; a key is named in its
    escaped form. A clean value (every sibling of the bad item in a batch) costs one
    serialisation at C speed."""
    try:
        path = _locate(value, _first_nul)
    except (TypeError, orjson.JSONEncodeError):
        # Not serialisable as is (never so for a parsed body): walk it.
        path = _walk_to_first(value, lambda text: "\x00" in text)
    if path and isinstance(path[-1], str):
        path[-1] = path[-1].replace("\x00", "\\u0000")
    return path


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen = dict(pairs)
    if len(seen) != len(pairs):
        keys: set[str] = set()
        for key, _ in pairs:
            if key in keys:
                raise _DuplicateKeyError(key)
            keys.add(key)
    return seen


def _duplicate_key(raw: bytes) -> str | None:
    """The slow path, taken only when the counts say a key repeats (so the body is
    refused): one Python call per object, and the value count bounds the objects."""
    try:
        json.loads(raw, object_pairs_hook=_refuse_duplicates)
    except _DuplicateKeyError as exc:
        return exc.key
    return None


def _too_many_values(limits: JsonLimits, count: int | None) -> ProblemError:
    about = f"holds about {count} values and keys" if count else "holds too many values"
    return ProblemError(
        413,
        f"The JSON body {about}; the limit is {limits.max_values}",
        errors=[FieldError(field="body", reason=f"more than {limits.max_values} values")],
    )


def check_text(neutral: bytes, limits: JsonLimits) -> bytes:
    """What is decided before the parse, since the parse of a body with too many values
    is itself the cost to avoid. Returns the body's structure for `check_value`."""
    structure = skeleton(neutral, limits.max_values)
    if structure is None:
        raise _too_many_values(limits, None)
    count = value_count(structure)
    if count > limits.max_values:
        raise _too_many_values(limits, count)
    return structure


def check_value(
    raw: bytes, neutral: bytes, structure: bytes, value: Any, limits: JsonLimits
) -> None:
    """What is checked once the text is known to be JSON: depth, repeated keys and
    over-long strings."""
    if _deeper_than(structure.translate(None, _NOT_BRACKET), limits.max_depth):
        raise ProblemError(
            422,
            f"The JSON body nests deeper than {limits.max_depth} levels",
            errors=[FieldError(field="body", reason=f"nested deeper than {limits.max_depth}")],
        )
    # orjson keeps the last of repeated keys silently. Parsing kept every key iff the
    # parsed value, serialised again, has as many keys (colons outside strings) as the
    # text had. Compact JSON as orjson writes it (our shipper's, usually) comes back
    # byte for byte, which proves no key was dropped without counting.
    canonical = orjson.dumps(value) if isinstance(value, (dict, list)) else raw
    if canonical != raw:
        canonical_structure = skeleton(neutralised(canonical), limits.max_values)
        kept = canonical_structure.count(b":") if canonical_structure is not None else -1
        if kept != structure.count(b":"):
            key = _duplicate_key(raw)
            if key is not None:
                raise ProblemError(
                    422,
                    f"The JSON body repeats the key {key!r} in one object",
                    errors=[FieldError(field="body", reason=f"duplicate key {key!r}")],
                )
    max_length = limits.max_string_length
    if _long_string_at(raw, neutral, max_length) >= 0:
        path = _locate(value, lambda text: _long_string_at(text, neutralised(text), max_length))
        if path is not None:
            field = _path_text(path)
            raise ProblemError(
                422,
                f"A string is longer than {max_length} characters",
                errors=[
                    FieldError(
                        field=field if len(field) <= 200 else field[:200] + "…",
                        reason=f"longer than {max_length} characters",
                    )
                ],
            )
