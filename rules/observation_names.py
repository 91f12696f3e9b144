"""What each observation kind is called in the reasons people read (zh-CN and en), so a finding never
says `manual.evidence` to a facility manager. A kind missing here is shown by its id."""
from __future__ import annotations

KIND_NAMES: dict[str, tuple[str, str]] = {
    "access.audit": ("门禁日志审计", "access log audit"),
    "accounts.audit": ("催收系统账户审计", "collection-system account audit"),
    "agent.heartbeat": ("代理心跳", "agent heartbeat"),
    "agent.sequence": ("代理上报序号", "agent sequence numbers"),
    "antivirus.status": ("防病毒状态", "antivirus status"),
    "backup.status": ("备份状态", "backup status"),
    "batch.registered": ("批次登记", "batch registration"),
    "calls.audit": ("通话录音审计", "call recording audit"),
    "camera.floorplan": ("监控平面图", "camera floor plan"),
    "camera.health": ("摄像头健康状态", "camera health"),
    "camera.retention": ("录像存储扫描", "recording-store scan"),
    "canary.hit": ("外联探针命中", "canary hit"),
    "canary.status": ("外联探针状态", "canary status"),
    "climate.reading": ("温湿度读数", "climate reading"),
    "host.hardening": ("主机加固检查", "host hardening check"),
    "host.identity": ("主机身份", "host identity"),
    "internet.egress": ("互联网外联测试", "internet egress test"),
    "ledger.verify": ("账本校验", "ledger verification"),
    "mail.egress": ("邮件外发测试", "outbound mail test"),
    "manual.evidence": ("人工证据上传", "uploaded evidence"),
    "pii.scan": ("敏感数据扫描", "bank-data scan"),
    "software.change": ("软件变更", "software change"),
    "software.inventory": ("软件清单", "software inventory"),
    "ups.event": ("UPS 事件", "UPS event"),
    "ups.status": ("UPS 状态", "UPS status"),
    "usb.block": ("USB 拦截记录", "USB block record"),
    "usb.devices": ("USB 设备清单", "USB device list"),
    "zone.coverage": ("区域监控覆盖", "zone coverage"),
}
_UNITS = {"s": ("秒", "s"), "m": ("分钟", "min"), "h": ("小时", "h"), "d": ("天", "days")}


def kind_name(kind: str) -> tuple[str, str]:
    """(zh, en) name of an observation kind; `kind[key]` keeps its key."""
    base, _, key = kind.partition("[")
    zh, en = KIND_NAMES.get(base, (base, base))
    return (f"{zh}[{key}", f"{en}[{key}") if key else (zh, en)


def duration_words(text: str) -> tuple[str, str]:
    """A catalog duration such as `15m` or `2d` in words: ("15 分钟", "15 min")."""
    number, unit = text[:-1], text[-1:]
    if unit not in _UNITS or not number.replace(".", "", 1).isdigit():
        return text, text
    return f"{number} {_UNITS[unit][0]}", f"{number} {_UNITS[unit][1]}"
