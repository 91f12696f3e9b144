"""USB blocking through USBGuard: the same policy written as USBGuard rules.

Rules are matched first to last: allow-listed devices, then block anything with a forbidden
interface class (`one-of`: a keyboard that also exposes storage is blocked), then allow the rest.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from agents.enforce.usb import UsbPolicy
from agents.env import Runner
from agents.usb import UsbDevice

# one line of `usbguard list-devices`: '6: block id 0781:5567 serial "..." name "..." ... via-port "1-2"
# with-interface 08:06:50' (or 'with-interface { 03:01:01 03:00:00 }')
_LINE_RE = re.compile(r'^\d+: (?P<target>allow|block|reject) id (?P<vid>[0-9a-fA-F]{4}):(?P<pid>[0-9a-fA-F]{4})\b')
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_INTERFACES_RE = re.compile(r"with-interface (\{[^}]*\}|\S+)")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def policy_rules(policy: UsbPolicy) -> str:
    lines = ["# written by clausewatch agent: allow-listed devices, block storage-capable classes, allow the rest"]
    for entry in policy.allow:
        parts = entry.split(":")
        if len(parts) < 2:
            continue
        rule = f"allow id {parts[0].lower()}:{parts[1].lower()}"
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


def _field(line: str, name: str) -> str:
    m = re.search(rf"\b{name} {_QUOTED}", line)
    return re.sub(r"\\(.)", r"\1", m.group(1)) if m else ""


def parse_devices(text: str) -> list[tuple[UsbDevice, str]]:
    """`usbguard list-devices` as (device, the daemon's target: allow, block or reject); root hubs left out."""
    out = []
    for line in text.splitlines():
        m = _LINE_RE.match(line.strip())
        if m is None:
            continue
        port = _field(line, "via-port")
        if port.startswith("usb"):
            continue
        ifaces = _INTERFACES_RE.search(line)
        classes: list[str] = []
        for iface in (ifaces.group(1).strip("{} ").split() if ifaces else []):
            cls = iface.split(":")[0].lower()
            if cls not in classes:
                classes.append(cls)
        target = m.group("target")
        out.append((UsbDevice(sys_name=port, vendor_id=m.group("vid").lower(), product_id=m.group("pid").lower(),
                              serial=_field(line, "serial"), name=_field(line, "name"), classes=classes,
                              authorized=target == "allow"), target))
    return out
