"""Repeated observations: an observation whose meaning equals the current one of its subject, kind and
key is kept as a compact row (table `observation_repeats`) from which its exact bytes are rebuilt.

Meaning is the whole observation but its id, time and sequence number, and the payload fields its
kind declares volatile (`rules/kinds.yaml`). A repeat keeps its id, time, sequence number and those
volatile values that differ from its head (the full row it repeats); the head's bytes and these
give back the repeat's canonical bytes, byte for byte, so the batch's Merkle root, `ledger verify`
and every reader see the observation as it was received. Ingest folds an observation only after
rebuilding it and comparing with what was received: anything that would not come back exactly is
stored as a full row instead.
"""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any

from collector.proof.canonical import loads, stored_json
from rules.kinds import load_kinds

# a repeat's id as stored: the 16 bytes of a UUID in its canonical text form (the same column type in
# SQLite and PostgreSQL); an observation with any other id is always kept as a full row
IdKey = bytes
_PER_OBSERVATION = ("id", "observed_at", "seq")


def id_key(obs_id: str) -> IdKey | None:
    """The stored key of a repeat with this id; None for an id that is not a UUID in its canonical text
    form (never a repeat): 36 characters, lower-case hex digits in groups of 8-4-4-4-12. Only that form
    comes back from the key (`id_text`): any other spelling of the same 16 bytes, even one newline
    longer, would be read back as another id."""
    if len(obs_id) != 36 or obs_id[8] != "-" or obs_id[13] != "-" or obs_id[18] != "-" or obs_id[23] != "-" \
            or obs_id != obs_id.lower():
        return None
    try:  # 16 bytes from the 32 characters left only if each is a hex digit (fromhex skips spaces)
        key = bytes.fromhex(obs_id.replace("-", ""))
    except ValueError:
        return None
    return key if len(key) == 16 else None


def id_text(key: IdKey) -> str:
    return str(uuid.UUID(bytes=bytes(key)))


@lru_cache(maxsize=256)
def volatile_paths(kind: str) -> tuple[tuple[str, ...], ...]:
    spec = load_kinds().get(kind)
    return tuple(tuple(p.split(".")) for p in spec.volatile) if spec else ()


def _walk(node: Any, path: tuple[str, ...], visit: Callable[[Any], Any]) -> None:
    """Replace each value at `path` under `node` by visit(value), in document order."""
    seg, rest = path[0], path[1:]
    if seg == "*":  # every field of an object, by name
        if isinstance(node, dict):
            for name in sorted(node):
                _walk(node, (name, *rest), visit)
        return
    each = seg.endswith("[]")
    name = seg[:-2] if each else seg
    if not isinstance(node, dict) or name not in node:
        return
    if each:
        items = node[name]
        if not isinstance(items, list):
            return
        for i, item in enumerate(items):
            if rest:
                _walk(item, rest, visit)
            else:
                items[i] = visit(item)
    elif rest:
        _walk(node[name], rest, visit)
    else:
        node[name] = visit(node[name])


def _each_volatile(payload: Any, kind: str, visit: Callable[[Any], Any]) -> None:
    for path in volatile_paths(kind):
        _walk(payload, path, visit)


@dataclass
class Parsed:
    """One observation's body split into its meaning and its volatile values."""

    meaning: bytes  # digest
    volatile: list[bytes]  # canonical bytes of each volatile value, in document order
    cuts: tuple[int, ...] | None = None  # where id, time and sequence number sit in the bytes (`_cuts`)
    rest: tuple[bytes, ...] | None = None  # with cuts: the bytes but id, time and sequence number (`_rest`)


def _kind_of(body: bytes) -> str | None:
    start = body.find(b',"kind":"')
    end = body.find(b'"', start + 9) if start >= 0 else -1
    return body[start + 9:end].decode("ascii", "replace") if end > 0 else None


def _cuts(body: bytes) -> tuple[int, ...] | None:
    """Where the body's id, time and sequence number start and end (sorted keys: a key spelled with
    its quotes can only be the body's own, strings escape theirs); None when it does not have that shape."""
    cuts = (body.find(b',"id":'), body.find(b',"key":'), body.find(b',"observed_at":'), body.find(b',"payload":'),
            body.rfind(b',"seq":'), body.rfind(b',"site":'))
    return cuts if 0 < cuts[0] < cuts[1] < cuts[2] < cuts[3] < cuts[4] < cuts[5] else None


def _rest(body: bytes, cuts: tuple[int, ...]) -> tuple[bytes, ...]:
    """The body but its id, time and sequence number."""
    a, b, c, d, e, f = cuts
    return body[:a], body[b:c], body[d:e], body[f:]


def parse(body: bytes, kind: str | None = None) -> Parsed | None:
    """The meaning of a stored body (of `kind`, when the caller knows); None when the body is not an
    observation object."""
    kind = kind or _kind_of(body)
    if kind is not None and not volatile_paths(kind) and (cuts := _cuts(body)) is not None:
        h = hashlib.blake2b(digest_size=16)  # nothing volatile: the bytes but id, time and number say it
        rest = _rest(body, cuts)
        for part in rest:
            h.update(part)
        return Parsed(h.digest(), [], cuts, rest)
    try:
        d = loads(body)
    except ValueError:
        return None
    if not isinstance(d, dict):
        return None
    values: list[bytes] = []

    def take(value: Any) -> None:
        values.append(stored_json(value))
        return None

    _each_volatile(d.get("payload"), str(d.get("kind")), take)
    for k in _PER_OBSERVATION:
        d.pop(k, None)
    return Parsed(hashlib.blake2b(stored_json(d), digest_size=16).digest(), values)


def delta(head: Parsed, new: Parsed) -> bytes | None:
    """The volatile values of `new` that differ from its head's, as stored (None: all equal)."""
    if len(head.volatile) != len(new.volatile):
        return None
    changed = [[i, loads(v)] for i, (h, v) in enumerate(zip(head.volatile, new.volatile, strict=True)) if h != v]
    return stored_json(changed) if changed else None


@dataclass
class Template:
    """A full row parsed once, to rebuild its repeats from."""

    fields: dict[str, Any]
    tz: tzinfo | None


def template(head_body: bytes) -> Template:
    """Raises ValueError on a body that is not an observation."""
    d = loads(head_body)
    if not isinstance(d, dict):
        raise ValueError("the head of a repeat is not an observation")
    return Template(d, datetime.fromisoformat(str(d["observed_at"])).tzinfo)


def rebuild_from(head: Template, obs_id: str, observed_at: float, seq: int | None, volatile: bytes | None) -> bytes:
    """The canonical bytes of a repeat of `head`."""
    d = dict(head.fields)
    d["id"], d["seq"] = obs_id, seq
    d["observed_at"] = datetime.fromtimestamp(observed_at, head.tz).isoformat()
    if volatile is not None:
        changes = dict(loads(volatile))
        position = iter(range(1 << 30))

        def put(value: Any) -> Any:
            return changes.get(next(position), value)

        d["payload"] = loads(stored_json(d.get("payload")))  # a copy: the template stays as it is
        _each_volatile(d["payload"], str(d.get("kind")), put)
    return stored_json(d)


def rebuild(head_body: bytes, obs_id: str, observed_at: float, seq: int | None, volatile: bytes | None) -> bytes:
    """The canonical bytes of a repeat of `head_body` (raises ValueError on a damaged head)."""
    return rebuild_from(template(head_body), obs_id, observed_at, seq, volatile)


# -- ingest: whether an observation folds into the full row it repeats ----------------------------
_OWN_MEMBERS = ("id", "observed_at", "seq")  # in the order of the body's keys, as `_cuts` finds them


@dataclass
class Head:
    """A full row that repeats are compared with: its bytes, meaning and template (None: unusable)."""

    body: bytes
    parsed: Parsed | None
    template: Template | None
    canonical: bool = False  # its bytes are those its template encodes to
    kind: str | None = None  # the kind its meaning was taken for (`parse`)
    # its bytes around its own id, time and sequence number (`_pieces_of`), once asked for
    pieces: tuple[bytes, bytes, bytes, bytes] | None = None
    pieces_known: bool = False


Heads = dict[int, Head]  # rowid -> full rows read or written


def head_of(body: bytes, parsed: Parsed | None = None, kind: str | None = None) -> Head:
    """`parsed`: the body's meaning, taken for `kind` (`parse`), when the caller has it."""
    parsed = parsed or parse(body, kind)
    try:
        t = template(body) if parsed is not None else None
    except (ValueError, TypeError, KeyError):
        return Head(body, None, None)
    return Head(body, parsed, t, t is not None and stored_json(t.fields) == body, kind or _kind_of(body))


def _pieces_of(head: Head) -> tuple[bytes, bytes, bytes, bytes] | None:
    """The head's bytes before its own id, between it and its time, between that and its sequence number,
    and after it, each ending with the next one's key (`,"id":`...), when the places `_cuts` finds are
    exactly its top-level members of those names: then any value put in their place is encoded where
    `rebuild_from` encodes it. None for any other head. Worked out once per head, when first asked."""
    if not head.pieces_known:
        head.pieces, head.pieces_known = _own_members_cut(head), True
    return head.pieces


def _own_members_cut(head: Head) -> tuple[bytes, bytes, bytes, bytes] | None:
    body = head.body
    cuts = _cuts(body) if head.canonical and head.template is not None else None
    if cuts is None or head.template is None:
        return None
    fields, a, b, c, d, e, f = head.template.fields, *cuts
    names = list(fields)
    for name, start, end in zip(_OWN_MEMBERS, (a, c, e), (b, d, f), strict=True):
        if name not in fields:
            return None
        before = {k: fields[k] for k in names[:names.index(name)]}
        # a canonical body is its members in order, each encoded on its own: the members before this one
        # end where it starts, and it ends where the next one starts
        if not before or len(stored_json(before)) - 1 != start or \
                body[start:end] != b',"' + name.encode() + b'":' + stored_json(fields[name]):
            return None
    # an id that is a UUID and a time `isoformat` writes are encoded as their text between quotes
    return body[:a] + b',"id":"', b'"' + body[b:c] + b',"observed_at":"', b'"' + body[d:e] + b',"seq":', body[f:]


def repeats_as_is(head: Head, row: Sequence[Any]) -> bool:
    """For a `row` whose id is a UUID (`id_key`): whether it is of the kind `head`'s meaning was taken for,
    has a whole number or nothing for its sequence number, and is `head` byte for byte but for its own
    id, time and sequence number, encoded as `rebuild_from` encodes them. It then has the head's meaning
    and folds into it with no volatile value of its own, as `folds_into` finds after parsing it, at a
    fraction of the cost. False says only that this check cannot tell."""
    pieces = _pieces_of(head) if head.kind and row[5] == head.kind else None
    if pieces is None or head.template is None or not (row[8] is None or type(row[8]) is int):
        return False
    try:
        observed = datetime.fromtimestamp(row[7], head.template.tz).isoformat()
    except (ValueError, TypeError, OverflowError, OSError):
        return False
    seq = b"null" if row[8] is None else stored_json(row[8])
    return b"".join((pieces[0], row[0].encode(), pieces[1], observed.encode(), pieces[2], seq, pieces[3])) == row[9]


def folds_into(head: Head | None, row: Sequence[Any], parsed: Parsed) -> tuple[bool, bytes | None]:
    """Whether `row` can be kept as a repeat of `head` (it rebuilds to the very bytes received), and
    the volatile values it keeps."""
    if head is None or head.parsed is None or head.template is None:
        return False, None
    if head.canonical and head.parsed.rest is not None and parsed.rest is not None and parsed.cuts:
        return _same_but_its_own(head, head.parsed.rest, row, parsed), None
    volatile = delta(head.parsed, parsed)
    try:
        return rebuild_from(head.template, row[0], row[7], row[8], volatile) == row[9], volatile
    except (ValueError, TypeError, KeyError, OverflowError):
        return False, None


def _same_but_its_own(head: Head, head_rest: tuple[bytes, ...], row: Sequence[Any], parsed: Parsed) -> bool:
    """What `rebuild_from` would check, on the bytes: the row's body is its head's byte for byte but
    for its own id, time and sequence number, each encoded as the rebuilt body encodes it."""
    body, tz = row[9], head.template.tz if head.template else None
    if parsed.rest != head_rest or parsed.cuts is None:
        return False
    a, b, c, d, e, f = parsed.cuts
    observed = datetime.fromtimestamp(row[7], tz).isoformat()
    return (body[a:b] == b',"id":' + stored_json(row[0]) and body[e:f] == b',"seq":' + stored_json(row[8])
            and body[c:d] == b',"observed_at":' + stored_json(observed))
