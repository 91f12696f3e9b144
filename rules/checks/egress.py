"""Checks over what leaves a terminal: outbound mail, the internet, and the canaries that record it."""
from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict

from rules.kinds import payload
from rules.registry import CheckInput, Verdict, check, failed, passed, unknown

MAIL_PORTS = (25, 465, 587, 2525, 110, 995, 143, 993)


class CanaryHit(TypedDict, total=False):
    source_address: str | None
    port: int


@payload("canary.status")
class CanaryStatus(TypedDict, total=False):
    hit_count: int
    window_s: float
    sources: list[str]
    hits: list[CanaryHit]


def canary_hits(inp: CheckInput, mail: bool) -> list[str]:
    """Canary hits from this host's addresses (mail ports, or every other port), as 'addr->port at time'.

    A hit is evidence of its own: it counts even when the host's agent has gone quiet, so the
    host's identity is read (declared as `context`) without making its age part of this verdict."""
    ident = inp.latest.get(("host.identity", ""))
    addresses = set(ident.payload.get("addresses", [])) if ident else set()
    found = []
    for status in inp.others("canary.status"):
        hits = [h for h in status.payload.get("hits", []) if h.get("source_address") in addresses
                and (int(h.get("port", 0)) in MAIL_PORTS) == mail]
        if hits:
            inp.used.append(status)
            found += [f"{h['source_address']}->{status.subject_id}:{h.get('port')} at {h.get('at')}" for h in hits]
    return found


def caught_by_canary(inp: CheckInput, *, mail: bool) -> Verdict | None:
    """A failure when the canary recorded this host getting through (mail ports, or any other), else None."""
    recorded = canary_hits(inp, mail=mail)
    if not recorded:
        return None
    shown = "; ".join(recorded[:3])
    what_zh, what_en = ("邮件连接", "mail connections") if mail else ("外网连接", "connections")
    return failed(f"金丝雀记录到本机的{what_zh}：{shown}", f"the canary recorded {what_en} from this host: {shown}",
                  canary_hits=recorded[:20])


class MailAttempt(TypedDict, total=False):
    result: str | None


class MailConnection(TypedDict, total=False):
    remote_port: int


@payload("mail.egress")
class MailEgress(TypedDict, total=False):
    attempts: list[MailAttempt]
    connections: list[MailConnection]
    mail_clients: list[str]
    listening_mta: list[Any]


@check("mail_egress_blocked", kinds=["mail.egress"], related=["canary.status"], context=["host.identity"],
       params={"allow_local_mta": False})
def mail_egress_blocked(inp: CheckInput) -> Verdict:
    """No outbound mail: the SMTP canary is unreachable, no mail connections, no mail client."""
    caught = caught_by_canary(inp, mail=True)
    if caught:
        return caught
    p = inp.require("mail.egress").payload
    reached = [a for a in p.get("attempts", []) if a.get("result") == "connected"]
    conns = [c for c in p.get("connections", []) if int(c.get("remote_port", 0)) in MAIL_PORTS]
    clients = list(p.get("mail_clients", []))
    mta = list(p.get("listening_mta", [])) if not inp.params["allow_local_mta"] else []
    value = {"canary_reached": len(reached), "mail_connections": len(conns), "mail_clients": clients,
             "tried": [f"{a.get('target')}:{a.get('port')}" for a in p.get("attempts", [])]}
    problems_zh, problems_en = [], []
    if reached:
        t = ", ".join(f"{a.get('target')}:{a.get('port')}" for a in reached)
        problems_zh.append(f"可连接邮件金丝雀 {t}")
        problems_en.append(f"mail canary reachable at {t}")
    if conns:
        problems_zh.append(f"{len(conns)} 个邮件端口连接")
        problems_en.append(f"{len(conns)} connection(s) to mail ports")
    if clients:
        problems_zh.append("安装了邮件客户端：" + ", ".join(clients))
        problems_en.append("mail client installed: " + ", ".join(clients))
    if mta:
        problems_zh.append("本机邮件服务在监听")
        problems_en.append("local MTA listening")
    if problems_en:
        return failed("；".join(problems_zh), "; ".join(problems_en), **value)
    if not p.get("attempts"):
        return unknown("未做外发邮件探测", "no outbound mail test was run", **value)
    return passed("外发邮件不可达", "outbound mail blocked", **value)


class EgressCanary(TypedDict, total=False):
    result: str | None


@payload("internet.egress")
class InternetEgress(TypedDict, total=False):
    canary: EgressCanary | None


# how the agent's connection attempt ended, in words (agents/netconn.py reports a code; a sender may write anything)
ATTEMPT_ENDED = {"timeout": ("连接超时", "timed out"), "refused": ("连接被拒绝", "refused"),
                 "error": ("连接出错", "connection error")}


@check("internet_blocked", kinds=["internet.egress"], related=["canary.status"], context=["host.identity"],
       params={"fail_on_default_route": False})
def internet_blocked(inp: CheckInput) -> Verdict:
    """The terminal cannot reach the internet: the egress canary outside its zone is unreachable."""
    caught = caught_by_canary(inp, mail=False)
    if caught:
        return caught
    p = inp.require("internet.egress").payload
    canary = p.get("canary") or {}
    value = {"canary": f"{canary.get('target')}:{canary.get('port')}", "canary_result": canary.get("result"),
             "default_route": p.get("default_route"), "dns_resolves": p.get("dns_resolves"),
             "proxy": p.get("proxy")}
    if canary.get("result") == "connected":
        return failed(f"可访问外网金丝雀 {value['canary']}", f"egress canary reachable at {value['canary']}",
                      **value)
    if inp.params["fail_on_default_route"] and p.get("default_route"):
        return failed("存在默认路由", "a default route exists", **value)
    if not canary:
        return unknown("未做外网探测", "no egress test was run", **value)
    ended_zh, ended_en = ATTEMPT_ENDED.get(str(canary.get("result")), ("其他结果", "other result"))
    return passed(f"外网不可达（{ended_zh}）", f"internet unreachable ({ended_en})", **value)


@check("egress_canary_quiet", kinds=["canary.status"])
def egress_canary_quiet(inp: CheckInput) -> Verdict:
    """The canary outside the terminals' zone recorded no connection in its window (default one day)."""
    p = inp.require("canary.status").payload
    sources = list(p.get("sources", []))
    value = {"hit_count": int(p.get("hit_count", 0)), "sources": sources[:20], "listening": p.get("listening", [])}
    if value["hit_count"]:
        who = ", ".join(sources[:5])
        ports = ", ".join(sorted({str(h.get("port")) for h in p.get("hits", [])}))
        hours = float(p.get("window_s", 86400)) / 3600
        return failed(f"{hours:g} 小时内 {value['hit_count']} 次连接触达金丝雀（来源 {who}；端口 {ports}）",
                      f"{value['hit_count']} connection(s) reached the canary in the last {hours:g} h "
                      f"(from {who}; port {ports})", **value)
    return passed("金丝雀未被触达", "no connection reached the canary", **value)
