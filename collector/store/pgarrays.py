"""One-dimensional arrays as statement parameters in PostgreSQL's binary form, built in one pass.

psycopg dumps a list element by element in Python, about a microsecond each; ingest sends a batch's
ids and keys (and its `latest` and subjects rows, a column each) as arrays, thousands of elements per
batch. These build the same bytes with one C call per element. Pass them as `%b` parameters."""
from __future__ import annotations

import struct
from collections.abc import Sequence

from psycopg.adapt import Dumper
from psycopg.pq import Format

_HEADER = struct.Struct("!iiiii")  # dimensions, has nulls, element type, length, lower bound
_LENGTH = struct.Struct("!i").pack
_NULL = _LENGTH(-1)
_INT8 = struct.Struct("!iq").pack
_FLOAT8 = struct.Struct("!id").pack
TEXT_OID, BYTEA_OID, INT8_OID, FLOAT8_OID = 25, 17, 20, 701


class BinaryArray(bytes):
    """An array parameter's bytes; the subclass names its type."""

    array_oid = 0


class TextArray(BinaryArray):
    array_oid = 1009


class ByteaArray(BinaryArray):
    array_oid = 1001


class Int8Array(BinaryArray):
    array_oid = 1016


class Float8Array(BinaryArray):
    array_oid = 1022


def _array(cls: type[BinaryArray], element_oid: int, elements: list[bytes], nulls: bool) -> BinaryArray:
    return cls(_HEADER.pack(1, int(nulls), element_oid, len(elements), 1) + b"".join(elements))


def text_array(values: Sequence[str | None]) -> TextArray:
    """A column of one value throughout (the kind and key columns of an importer's batch) encodes it once."""
    if values and (first := values[0]) is not None and values.count(first) == len(values):
        e = first.encode()
        return _array(TextArray, TEXT_OID, [_LENGTH(len(e)) + e] * len(values), False)  # type: ignore[return-value]
    out = [_NULL if v is None else _LENGTH(len(e := v.encode())) + e for v in values]
    return _array(TextArray, TEXT_OID, out, None in values)  # type: ignore[return-value]


def bytea_array(values: Sequence[bytes | None]) -> ByteaArray:
    out = [_NULL if v is None else _LENGTH(len(v)) + v for v in values]
    return _array(ByteaArray, BYTEA_OID, out, None in values)  # type: ignore[return-value]


def int8_array(values: Sequence[int | None]) -> Int8Array:
    out = [_NULL if v is None else _INT8(8, v) for v in values]
    return _array(Int8Array, INT8_OID, out, None in values)  # type: ignore[return-value]


def float8_array(values: Sequence[float | None]) -> Float8Array:
    out = [_NULL if v is None else _FLOAT8(8, v) for v in values]
    return _array(Float8Array, FLOAT8_OID, out, None in values)  # type: ignore[return-value]


# binary COPY: the signature, flags and header extension before the rows, a field count of -1 after them
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\0" + bytes(8)
COPY_TRAILER = b"\xff\xff"
# a repeat's row but its sequence number and volatile values: field count, id (16 bytes), num, head, batch, time
_REPEAT_FIXED = struct.Struct("!hi16siqiqiqid").pack
_REPEAT_FIELDS = struct.Struct("!h").pack(7)
# the types of the columns whose values repeat_rows_copy encodes, in order
REPEAT_TYPES = ["bytea", "int8", "int8", "int8", "float8", "int8", "bytea"]


def repeat_rows_copy(rows: Sequence[tuple[bytes, int, int, int, float, int | None, bytes | None]]) -> bytes:
    """observation_repeats rows (id, num, head, batch, observed_at, seq, volatile) as the whole of a binary
    COPY: a struct per row instead of a dumper call per value (psycopg's `write_row`)."""
    out = [COPY_SIGNATURE]
    for rid, num, head, batch, observed_at, seq, volatile in rows:
        if len(rid) == 16:
            out.append(_REPEAT_FIXED(7, 16, rid, 8, num, 8, head, 8, batch, 8, observed_at))
        else:  # no id key from repeats.id_key is of another length; such an id goes with its own length
            out.append(_REPEAT_FIELDS + _LENGTH(len(rid)) + rid + _INT8(8, num) + _INT8(8, head) + _INT8(8, batch)
                       + _FLOAT8(8, observed_at))
        out.append(_NULL if seq is None else _INT8(8, seq))
        out.append(_NULL if volatile is None else _LENGTH(len(volatile)) + volatile)
    out.append(COPY_TRAILER)
    return b"".join(out)


def _dumper(cls: type[BinaryArray]) -> type[Dumper]:
    class ArrayDumper(Dumper):
        format = Format.BINARY
        oid = cls.array_oid

        def dump(self, obj: BinaryArray) -> bytes:
            return obj

    return ArrayDumper


def register_arrays(conn: object) -> None:
    """Let `conn` (a psycopg connection) take the arrays built here as binary parameters."""
    for cls in (TextArray, ByteaArray, Int8Array, Float8Array):
        conn.adapters.register_dumper(cls, _dumper(cls))  # type: ignore[attr-defined]
