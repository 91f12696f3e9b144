"""Send importer observations to a running collector (`POST /api/v1/observations`, source token)."""
from __future__ import annotations

from collections.abc import Sequence

import httpx

from rules.model import Observation


class ShipError(RuntimeError):
    """The collector refused the batch or could not be reached; the message says which."""


def post_observations(url: str, token: str, observations: Sequence[Observation],
                      client: httpx.Client | None = None) -> dict:
    """One atomic batch; returns the collector's answer (accepted, duplicates, ledger_seq)."""
    body = {"observations": [o.model_dump(mode="json") for o in observations]}
    own = client is None
    http = client or httpx.Client(timeout=30)
    try:
        r = http.post(url.rstrip("/") + "/api/v1/observations", json=body,
                      headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as e:
        raise ShipError(f"{url}: {e}") from None
    finally:
        if own:
            http.close()
    if r.status_code != 200:
        raise ShipError(f"{url}: HTTP {r.status_code}: {r.text[:300]}")
    return r.json()
