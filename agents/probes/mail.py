"""Outbound mail ban: SMTP canary attempts, mail-port connections, local MTAs, mail clients, firewall."""
from __future__ import annotations

from agents.env import Env
from agents.firewall import firewall_evidence
from agents.netconn import connect_attempt, read_tcp, socket_owners
from agents.observation import AgentObservation
from agents.probes.antivirus import running_processes

MAIL_PORTS = (25, 465, 587, 2525, 110, 995, 143, 993)
SUBMISSION_PORTS = (25, 465, 587, 2525)
MAIL_CLIENTS = ("thunderbird", "evolution", "claws-mail", "sylpheed", "geary", "kmail", "mutt", "neomutt",
                "foxmail", "outlook")


def mail_sockets(env: Env) -> tuple[list[dict], list[dict]]:
    """(connections to mail ports, listeners on submission ports), each with its owning process."""
    sockets = read_tcp(env.proc)
    owners = socket_owners(env.proc)
    conns, listeners = [], []
    for s in sockets:
        pid, comm = owners.get(s.inode, (None, None))
        if s.state in ("established", "syn_sent") and s.remote_port in MAIL_PORTS:
            conns.append({"remote": s.remote, "remote_port": s.remote_port, "state": s.state,
                          "pid": pid, "process": comm})
        elif s.state == "listen" and s.local_port in SUBMISSION_PORTS:
            listeners.append({"address": s.local, "port": s.local_port, "pid": pid, "process": comm})
    return conns, listeners


def mail_clients(env: Env, processes: set[str]) -> list[str]:
    return sorted({c for c in MAIL_CLIENTS if env.which(c) or c in processes})


def gather(env: Env) -> list[AgentObservation]:
    cfg = env.config.mail
    attempts = [connect_attempt(c.host, c.port, cfg.timeout_s) for c in cfg.canaries]
    conns, listeners = mail_sockets(env)
    payload: dict = {
        "attempts": attempts, "connections": conns,
        "mail_clients": mail_clients(env, running_processes(env.proc)),
        "listening_mta": listeners, "firewall": firewall_evidence(env, MAIL_PORTS),
    }
    if not cfg.canaries:
        payload["reason"] = "no SMTP canary configured ([mail] canaries): outbound mail not tested"
    return [env.observe("mail.egress", payload)]
