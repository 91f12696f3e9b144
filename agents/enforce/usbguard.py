"""USB blocking through USBGuard: the same policy written as USBGuard rules.

Rules are matched first to last: allow-listed devices, then block anything with a forbidden
interface class (`one-of`: a keyboard that also exposes storage is blocked), then allow the rest.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from agents.enforce.usb import UsbPolicy
from agents.env import Runner


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def policy_rules(policy: UsbPolicy) -> str:
    lines = ["# written by clausewatch agent: allow-listed devices, block storage-capable classes, allow the rest"]
    for entry in policy.allow:
        parts = entry.split(":")
        if len(parts) < 2:
            continue
        rule = f"allow id {parts[0]}:{parts[1]}"
        if len(parts) > 2 and parts[2] not in ("", "*"):
            rule += f" serial {_quote(parts[2])}"
        lines.append(rule)
    classes = " ".join(f"{c}:*:*" for c in sorted(policy.block_classes))
    lines.append(f"block with-interface one-of {{ {classes} }}")
    lines.append("allow")
    return "\n".join(lines) + "\n"


def validate(rules: str, run: Runner) -> tuple[bool, str]:
    """Parse the rules with USBGuard's own parser (`usbguard-rule-parser -f`)."""
    fd, name = tempfile.mkstemp(suffix=".conf")
    try:
        os.write(fd, rules.encode())
        os.close(fd)
        res = run(["usbguard-rule-parser", "-f", name], 10.0)
    finally:
        os.unlink(name)
    if res.returncode == 0:
        return True, "rules parsed by usbguard-rule-parser"
    lines = (res.stdout + "\n" + res.stderr).splitlines()
    # the parser points at the spot: "!!  ^-- /tmp/x.conf:1:31: parse error matching ..."
    detail = next((ln for ln in lines if f"{name}:" in ln), next((ln for ln in lines if ln.strip()), "rejected"))
    return False, detail.replace(name, "<rules>").strip("!^- ")[:300]


def ensure_policy(path: Path, policy: UsbPolicy, run: Runner) -> tuple[bool, str]:
    """Write the rule file when it differs (validated first, atomically, mode 0600); say what was done."""
    rules = policy_rules(policy)
    try:
        current = path.read_text()
    except OSError:
        current = None
    if current == rules:
        return True, f"{path} holds the site policy"
    ok, detail = validate(rules, run)
    if not ok:
        return False, f"generated rules rejected: {detail}"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(rules)
    tmp.replace(path)
    return True, f"{path} rewritten with the site policy (usbguard must reload it)"
