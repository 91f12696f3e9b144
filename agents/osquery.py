"""osquery: run `rules/osquery/*.sql` through `osqueryi --json` and map rows to our observation kinds.

Used on Windows and macOS terminals, where the native Linux probes cannot look. Column names
are those of osquery's table specs; osqueryi prints every value as a string.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from agents.env import Env

QUERIES = Path(__file__).resolve().parent.parent / "rules" / "osquery"
MAIL_CLIENT_WORDS = ("outlook", "foxmail", "thunderbird", "mailbird", "em client", "windows mail")


class OsqueryError(Exception):
    pass


def query(env: Env, name: str, timeout_s: float = 20.0) -> list[dict[str, str]]:
    """Rows of `rules/osquery/<name>.sql`; OsqueryError when osqueryi is missing or fails."""
    sql = (QUERIES / f"{name}.sql").read_text()
    res = env.run(["osqueryi", "--json", sql], timeout_s)
    if res.returncode != 0:
        raise OsqueryError(f"osqueryi ({name}): {(res.stderr or res.stdout).strip()[:200] or res.returncode}")
    try:
        rows = json.loads(res.stdout or "[]")
    except ValueError as e:
        raise OsqueryError(f"osqueryi ({name}): output is not JSON: {e}") from None
    return [r for r in rows if isinstance(r, dict)]


def _unix(text: str | None) -> str | None:
    if not text or not text.strip().isdigit() or int(text) <= 0:
        return None
    return datetime.fromtimestamp(int(text), UTC).isoformat()


def usb_payload(rows: list[dict[str, str]]) -> dict:
    """USBSTOR `Start`: 4 = the storage driver never loads (blocked)."""
    if not rows:
        return {"enforcement": "none", "policy_ok": False, "devices": [],
                "reason": "no USBSTOR Start value in the registry"}
    start = rows[0].get("data", "").strip()
    ok = start == "4"
    return {"enforcement": "windows_registry", "policy_ok": ok, "devices": [], "usbstor_start": start,
            "reason": "USBSTOR Start = 4 (storage driver disabled)" if ok else
            f"USBSTOR Start = {start} (storage driver enabled)"}


def antivirus_payload(products: list[dict[str, str]], tasks: list[dict[str, str]]) -> dict:
    if not products:
        return {"product": None, "installed": False, "running": False,
                "reason": "no antivirus registered with Windows Security Center"}
    on = [p for p in products if p.get("state", "").lower() == "on"]
    main = (on or products)[0]
    enabled = [t for t in tasks if t.get("enabled") == "1"]
    last = max((t.get("last_run_time", "0") for t in tasks), key=lambda x: int(x) if x.isdigit() else 0,
               default=None)
    return {"product": main.get("name"), "installed": True, "running": bool(on),
            "signatures_up_to_date": main.get("signatures_up_to_date") == "1",
            "state_time": main.get("state_timestamp") or None, "signature_time": None,
            "scheduled_scan": bool(enabled), "scan_schedule": [t.get("name") for t in enabled],
            "last_scan": _unix(last), "products": [{"name": p.get("name"), "state": p.get("state")} for p in products]}


def mail_payload(sockets: list[dict[str, str]], programs: list[dict[str, str]], attempts: list[dict]) -> dict:
    conns = [{"remote": s.get("remote_address"), "remote_port": int(s.get("remote_port") or 0),
              "state": (s.get("state") or "").lower(), "pid": int(s.get("pid") or 0), "process": s.get("process")}
             for s in sockets if s.get("state") in ("ESTABLISHED", "SYN_SENT")]
    listeners = [{"address": s.get("local_address"), "port": int(s.get("local_port") or 0),
                  "pid": int(s.get("pid") or 0), "process": s.get("process")}
                 for s in sockets if s.get("state") == "LISTEN"]
    clients = sorted({p["name"] for p in programs if any(w in p.get("name", "").lower() for w in MAIL_CLIENT_WORDS)})
    return {"attempts": attempts, "connections": conns, "listening_mta": listeners, "mail_clients": clients,
            "firewall": {"tool": None, "reason": "firewall rules are not read through osquery"}}


def identity_payload(ident: list[dict[str, str]], users: list[dict[str, str]]) -> dict:
    row = ident[0] if ident else {}
    return {"hostname": row.get("hostname", "unknown"),
            "os": " ".join(x for x in (row.get("os_name"), row.get("os_version")) if x) or "unknown",
            "addresses": [], "interactive_users": sorted({u["user"] for u in users if u.get("user")})}
