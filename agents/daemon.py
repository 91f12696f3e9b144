"""`agent run`: enforce, probe every interval, spool, ship, heartbeat."""
from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents import AGENT_VERSION, tamper
from agents.env import Env
from agents.observation import AgentObservation
from agents.probes import Probe, run_probes
from agents.ship import Shipper
from agents.shipping.spool import Spool

if TYPE_CHECKING:
    from agents.config import AgentConfig
    from agents.enforce.usb import SysfsEnforcer

log = logging.getLogger(__name__)


@dataclass
class Agent:
    env: Env
    spool: Spool
    shipper: Shipper | None
    config_path: Path | None = None
    probes: dict[str, Probe] | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)
    tamper: list[str] = field(default_factory=list)
    started_s: float = 0.0
    usb_watch: str = "off"  # udev, polling or off: how new USB devices are caught between rounds
    _alerts: list[tuple[float, str]] = field(default_factory=list)
    _dropped_seen: int = 0
    _threads: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def create(cls, cfg: AgentConfig, config_path: Path | None = None, **world: Any) -> Agent:
        env = Env(config=cfg, sysfs=cfg.paths.sysfs, proc=cfg.paths.proc, root=cfg.paths.root,
                  state_dir=cfg.state_dir, **world)
        spool = Spool(cfg.state_dir / "spool.db", cfg.spool_max_bytes)
        shipper = None
        if cfg.collector.urls:
            from agents.probes.identity import hostname

            shipper = Shipper(spool, cfg.collector, env.host_id, hostname(env))
        agent = cls(env, spool, shipper, config_path)
        if shipper is not None:
            shipper.sleep = agent.stop_event.wait
        return agent

    @property
    def state_file(self) -> Path:
        return self.env.config.state_dir / "agent-state.json"

    def heartbeat(self) -> AgentObservation:
        """Version, spool state and what looks like tampering or loss, each held for `tamper_hold_s`."""
        stats = self.spool.stats()
        now = time.monotonic()
        if stats.dropped_total > self._dropped_seen:
            self._alerts.append((now, f"spool full: {stats.dropped_total - self._dropped_seen} oldest "
                                      "observation(s) dropped before shipping"))
            self._dropped_seen = stats.dropped_total
        hold = self.env.config.tamper_hold_s
        current = [text for t, text in self._alerts if now - t < hold]
        current += list(self.tamper) if now - self.started_s < hold else []
        return self.env.observe("agent.heartbeat", {
            "version": AGENT_VERSION, "interval_s": self.env.config.interval_s,
            "tamper": current,
            "spool": {"pending": stats.pending, "pending_bytes": stats.pending_bytes,
                      "dropped_total": stats.dropped_total},
            "rejected_total": self.shipper.rejected_total if self.shipper else 0, "usb_watch": self.usb_watch})

    def start(self) -> None:
        fp = tamper.fingerprint(self.config_path)
        self.tamper = tamper.check_start(self.state_file, fp, time.time(), 3 * self.env.config.interval_s,
                                         tamper.boot_time(self.env.proc))
        self.started_s = time.monotonic()
        self._dropped_seen = self.spool.stats().dropped_total
        for t in self.tamper:
            log.warning("tamper: %s", t)
        if self.shipper is not None:
            self._spawn("ship", self._ship_loop)
        if self._usb_watch_wanted():
            self._spawn("usb-watch", self._usb_watch, self._usb_enforcer())
        if self.env.config.pii.roots:
            self._spawn("pii-watch", self._pii_watch)

    def _spawn(self, name: str, target: Any, *args: Any) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _ship_loop(self) -> None:
        assert self.shipper is not None
        while not self.stop_event.is_set():
            self.shipper.drain(self.stop_event.is_set)
            self.wake.wait(self.env.config.interval_s)
            self.wake.clear()

    def _usb_watch_wanted(self) -> bool:
        usb = self.env.config.usb
        return usb.enforce and usb.mode == "sysfs" and (self.env.sysfs / "bus" / "usb").is_dir()

    def _usb_enforcer(self) -> SysfsEnforcer:
        """The watch's enforcer, with new devices already held before start() returns (block first)."""
        from agents.enforce.usb import SysfsEnforcer
        from agents.probes.usb import block_observation, policy_of, udev_lister

        enforcer = SysfsEnforcer(self.env.sysfs, policy_of(self.env), self.env.clock,
                                 on_block=lambda b: self.submit([block_observation(self.env, b)]),
                                 lister=udev_lister(self.env))
        for problem in enforcer.hold_new_devices():
            self._alerts.append((time.monotonic(), f"USB devices not held on arrival: {problem}"))
        return enforcer

    def _usb_watch(self, enforcer: SysfsEnforcer) -> None:
        """React to udev events; without a udev monitor (no netlink access), sweep every 2 s instead."""
        from agents.enforce.usb import watch_udev

        try:
            import pyudev

            self.usb_watch = "udev"
            watch_udev(enforcer, pyudev.Context(), self.stop_event.is_set)
            return
        except Exception:  # no libudev or no netlink socket: polling still blocks, only slower
            log.exception("udev monitor unavailable; polling sysfs every 2 s")
        self.usb_watch = "polling"
        while not self.stop_event.wait(2.0):
            enforcer.sweep()

    def _pii_watch(self) -> None:
        """Lingering bank data: a full scan every `full_every_h` and a watch on changed files."""
        from agents.pii.manifest import load_manifests
        from agents.pii_watch import PiiWatch

        cfg = self.env.config.pii
        manifest = load_manifests(cfg.manifests) if cfg.manifests else None
        PiiWatch(host_id=self.env.host_id, roots=list(cfg.roots), ship=lambda o: self.submit([o]),
                 manifest=manifest, exclude=cfg.exclude, full_every_s=cfg.full_every_h * 3600,
                 stop_event=self.stop_event).run()

    def submit(self, observations: list[AgentObservation]) -> None:
        self.spool.put(observations)
        self.wake.set()

    def round(self) -> list[AgentObservation]:
        observations = [*run_probes(self.env, self.probes), self.heartbeat()]
        self.submit(observations)
        return observations

    def run(self, iterations: int | None = None) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: self.stop_event.set())
        self.start()
        try:
            done = 0
            while not self.stop_event.is_set():
                self.round()
                done += 1
                if iterations is not None and done >= iterations:
                    break
                self.stop_event.wait(self.env.config.interval_s)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        self.stop_event.set()
        self.wake.set()
        for t in self._threads:
            t.join(timeout=10)
        if self.shipper is not None:
            self.shipper.flush()  # last observations out if the collector is there; else they wait
        tamper.mark_stopped(self.state_file, tamper.fingerprint(self.config_path), time.time())
        if self.shipper is not None:
            self.shipper.close()
        self.spool.close()
