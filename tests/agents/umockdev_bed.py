"""Runs the USB enforcer against a umockdev testbed; started under `umockdev-wrapper` by tests and bench.

    umockdev-wrapper .venv/bin/python -m tests.agents.umockdev_bed sweep|hotplug|bench [--allow ID] FILE...

Prints one JSON document. The testbed comes from Debian's gir1.2-umockdev-1.0 through python3-gi,
which lives outside the virtualenv, hence the path below.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.append("/usr/lib/python3/dist-packages")

import gi  # noqa: E402

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

from agents.enforce.usb import SysfsEnforcer, UsbPolicy, watch_udev  # noqa: E402
from agents.usb import read_devices  # noqa: E402


def device_paths(file: Path) -> list[str]:
    """Sysfs paths of the devices a .umockdev file describes, parents first."""
    return sorted("/sys" + m for m in re.findall(r"^P: (\S+)", file.read_text(), re.M))


def state(root: Path) -> dict:
    return {d.sys_name: {"identity": d.identity, "classes": d.classes, "authorized": d.authorized}
            for d in read_devices(root)}


def start_watch(enforcer: SysfsEnforcer) -> tuple[threading.Event, threading.Thread]:
    import pyudev

    stop = threading.Event()
    t = threading.Thread(target=watch_udev, args=(enforcer, pyudev.Context(), stop.is_set, 0.05), daemon=True)
    t.start()
    time.sleep(0.3)  # the monitor socket must exist before the first event
    return stop, t


def wait_for(cond, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.005)
    return False


def settle(activity, quiet_s: float, timeout_s: float) -> None:
    """Wait until `activity()` has stopped changing for `quiet_s` (a busy machine delays the agent)."""
    deadline = time.monotonic() + timeout_s
    last, since = activity(), time.monotonic()
    while time.monotonic() < deadline:
        now = activity()
        if now != last:
            last, since = now, time.monotonic()
        elif now and time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.05)


def cmd_sweep(tb, root: Path, enforcer: SysfsEnforcer, files: list[Path]) -> dict:
    for f in files:
        tb.add_from_file(str(f))
    before = state(root)
    _, blocks = enforcer.sweep()
    return {"before": before, "after": state(root), "blocks": [b.as_payload() for b in blocks]}


def cmd_inventory(tb, root: Path, files: list[Path]) -> dict:
    """The same devices seen through libudev (pyudev, redirected by the umockdev preload) and sysfs."""
    import pyudev

    from agents.usb import udev_devices

    for f in files:
        tb.add_from_file(str(f))
    as_dict = lambda devs: [{**d.as_payload()} for d in devs]  # noqa: E731
    return {"udev": as_dict(udev_devices(pyudev.Context())), "sysfs": as_dict(read_devices(root))}


def cmd_probe(tb, root: Path, files: list[Path], allow: list[str]) -> dict:
    """The USB probe as on a real host: sysfs root "/sys", which the umockdev preload redirects."""
    from agents.config import AgentConfig
    from agents.env import Env
    from agents.probes import usb

    for f in files:
        tb.add_from_file(str(f))
    env = Env(config=AgentConfig.model_validate({"usb": {"allow": allow}}), host_id="term-001")
    obs = usb.gather(env)
    return {"observations": [json.loads(o.to_json()) for o in obs], "after": state(root)}


def cmd_agent(tb, root: Path, files: list[Path], allow: list[str]) -> dict:
    """The whole agent: start (sweep thread and udev watch), then hot-plug the rest of the files."""
    import tempfile

    from agents.config import AgentConfig
    from agents.daemon import Agent
    from rules.model import Observation

    tb.add_from_file(str(files[0]))  # a bus with a device before the agent starts
    with tempfile.TemporaryDirectory() as state_dir:
        cfg = AgentConfig.model_validate({"host_id": "term-001", "state_dir": state_dir, "interval_s": 3600,
                                          "usb": {"allow": allow}, "paths": {"sysfs": str(root)}})
        agent = Agent.create(cfg)
        agent.start()
        time.sleep(0.5)
        for f in files[1:]:
            tb.add_from_file(str(f))
            for path in device_paths(f):
                tb.uevent(path, "add")
        wait_for(lambda: any(b'"usb.block"' in body for _, body in agent.spool.peek(100)), 5.0)
        time.sleep(0.3)
        beat = agent.heartbeat()
        spooled = [Observation.model_validate_json(b) for _, b in agent.spool.peek(100)]
        agent.stop()
    return {"after": state(root), "usb_watch": beat.payload["usb_watch"],
            "blocks": [o.payload for o in spooled if o.kind == "usb.block"]}


def cmd_block_first(tb, root: Path, files: list[Path], allow: list[str]) -> dict:
    """The whole agent with the kernel holding new devices: what was written to each `authorized`."""
    import tempfile

    from agents.config import AgentConfig
    from agents.daemon import Agent
    from rules.model import Observation
    from tests.agents.umockdev_hold import WriteRecorder, bind_authorized, plug

    tb.add_from_file(str(files[0]))  # the root hub, before the agent starts
    hub_default = root / "bus" / "usb" / "devices" / "usb1" / "authorized_default"
    out: dict = {"default_before_start": hub_default.read_text().strip()}
    recorder = WriteRecorder()
    with tempfile.TemporaryDirectory() as state_dir:
        cfg = AgentConfig.model_validate({"host_id": "term-001", "state_dir": state_dir, "interval_s": 3600,
                                          "usb": {"allow": allow}, "paths": {"sysfs": str(root)},
                                          "antivirus": {"eicar_test": False}})  # a short first round
        agent = Agent.create(cfg)
        runner = threading.Thread(target=agent.run, daemon=True)
        runner.start()
        # the first round (probes, sweep) done: from here only udev events make the agent look at devices
        wait_for(lambda: any(b'"usb.devices"' in body for _, body in agent.spool.peek(100)), 60.0)
        time.sleep(0.3)
        out["default_before_hotplug"] = hub_default.read_text().strip()
        held_interfaces = [rec for f in files[1:] for rec in plug(tb, root, f, recorder)]

        def activity() -> int:  # writes seen plus blocks spooled: the agent's reactions so far
            recorder.collect(0.02)
            return sum(map(len, recorder.writes.values())) + sum(
                b'"usb.block"' in body for _, body in agent.spool.peek(1000))

        settle(activity, quiet_s=1.5, timeout_s=30.0)
        bind_authorized(tb, root, held_interfaces)
        settle(activity, quiet_s=1.0, timeout_s=15.0)
        spooled = [Observation.model_validate_json(b) for _, b in agent.spool.peek(100)]
        agent.stop_event.set()
        runner.join(15)
    out.update({"writes": recorder.writes, "after": state(root), "default_after_stop": hub_default.read_text().strip(),
                "blocks": [o.payload for o in spooled if o.kind == "usb.block"],
                "inventory": next(o.payload for o in spooled if o.kind == "usb.devices")})
    return out


def cmd_hotplug(tb, root: Path, enforcer: SysfsEnforcer, files: list[Path]) -> dict:
    stop, _ = start_watch(enforcer)
    for f in files:
        tb.add_from_file(str(f))
        for path in device_paths(f):
            tb.uevent(path, "add")
    wait_for(lambda: len(enforcer.blocks) >= 1, 3.0)
    time.sleep(0.3)  # let events for allowed devices arrive too: they must not block
    stop.set()
    return {"after": state(root), "blocks": [b.as_payload() for b in enforcer.blocks]}


def cmd_bench(tb, root: Path, enforcer: SysfsEnforcer, files: list[Path], events: int) -> dict:
    file = files[0]
    tb.add_from_file(str(file))
    device = device_paths(file)[0]
    sys_name = device.rsplit("/", 1)[1]
    stop, _ = start_watch(enforcer)
    latencies_ms, missed = [], 0
    for _ in range(events):
        tb.set_attribute(device, "authorized", "1")
        seen = len(enforcer.blocks)
        started = time.perf_counter()
        tb.uevent(device, "add")
        if wait_for(lambda s=seen: len(enforcer.blocks) > s, 2.0):
            latencies_ms.append((done_at[-1] - started) * 1000)
        else:
            missed += 1
    stop.set()
    q = statistics.quantiles(latencies_ms, n=100) if len(latencies_ms) > 1 else [0.0] * 99
    return {"device": sys_name, "events": events, "missed": missed, "p50_ms": q[49], "p99_ms": q[98],
            "max_ms": max(latencies_ms, default=0.0)}


done_at: list[float] = []


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["sweep", "hotplug", "bench", "inventory", "probe", "agent", "block-first"])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--allow", action="append", default=[])
    ap.add_argument("--events", type=int, default=1000)
    args = ap.parse_args()
    tb = UMockdev.Testbed.new()
    root = Path(tb.get_sys_dir())
    enforcer = SysfsEnforcer(root, UsbPolicy.build(["08", "06", "e0", "ff"], args.allow), lambda: datetime.now(UTC),
                             on_block=lambda b: done_at.append(time.perf_counter()))
    if args.mode == "sweep":
        out = cmd_sweep(tb, root, enforcer, args.files)
    elif args.mode == "agent":
        out = cmd_agent(tb, root, args.files, args.allow)
    elif args.mode == "block-first":
        out = cmd_block_first(tb, root, args.files, args.allow)
    elif args.mode == "probe":
        out = cmd_probe(tb, root, args.files, args.allow)
    elif args.mode == "inventory":
        out = cmd_inventory(tb, root, args.files)
    elif args.mode == "hotplug":
        out = cmd_hotplug(tb, root, enforcer, args.files)
    else:
        out = cmd_bench(tb, root, enforcer, args.files, args.events)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
