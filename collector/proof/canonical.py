"""The byte forms of JSON that are hashed or signed; docs/ledger-format.md says where each is used.

- `canonical`: RFC 8785 (the JSON Canonicalization Scheme). For JSON that someone else re-creates
  from parsed data to check a signature or a hash: attestations, attestation snapshots, bundle
  manifests, report digests, batch certificates.
- `stored_json`: compact JSON with sorted keys, for bytes that are hashed exactly as they are
  stored and that no verifier ever re-encodes: ledger entry bodies, observation bodies (the
  Merkle leaves), the finding columns. It is ~50 times faster than `canonical` on the ingest path,
  and a verifier reads these bytes, never rebuilds them.
- `legacy_canonical`: what `canonical` was before RFC 8785 (orjson's sorted form); kept only to
  check what was signed that way (an attestation body without `"canonical": "rfc8785"`).
"""
from __future__ import annotations

from typing import Any

import orjson
import rfc8785

CANONICAL_FORM = "rfc8785"  # named in signed bodies made with `canonical`


class CanonicalError(ValueError):
    """A value RFC 8785 cannot express: NaN or an infinity, an integer beyond ±(2**53 - 1),
    a key that is not a string, a lone surrogate, a type JSON does not have."""


def canonical(obj: Any) -> bytes:
    """RFC 8785 bytes: keys sorted by their UTF-16 code units, numbers as ECMAScript prints them
    (1.0 -> 1, 1e21 -> 1e+21, -0.0 -> 0), no whitespace, UTF-8. Raises CanonicalError."""
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as e:
        raise CanonicalError(str(e)) from None


def stored_json(obj: Any) -> bytes:
    """Compact sorted-key JSON, hashed as stored (see the module's docstring)."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def legacy_canonical(obj: Any) -> bytes:
    """The form signed before RFC 8785 was adopted (the same bytes as `stored_json`); for checking
    those signatures only."""
    return stored_json(obj)


def signed_form(body: dict[str, Any]) -> bytes:
    """The bytes a signature over `body` covers: RFC 8785 when the body says so, else the legacy form."""
    return canonical(body) if body.get("canonical") == CANONICAL_FORM else legacy_canonical(body)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)
