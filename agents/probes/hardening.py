"""Hardening of a machine that holds data files (T12.1-c 保密设置): disk encryption, no guest or
password-less accounts, no root login over SSH. Each check appears only where it can be judged."""
from __future__ import annotations

from agents.env import Env
from agents.observation import AgentObservation

GUEST_NAMES = {"guest", "test", "temp", "demo", "public", "user"}
NO_LOGIN = ("nologin", "false", "sync", "shutdown", "halt")


def disk_encrypted(env: Env) -> bool | None:
    """True when a dm-crypt (LUKS) device backs some file system; None without sysfs block devices."""
    block = env.sysfs / "block"
    if not block.is_dir():
        return None
    for dm in block.glob("dm-*/dm/uuid"):
        try:
            if dm.read_text().startswith("CRYPT-"):
                return True
        except OSError:
            continue
    return False


def login_accounts(env: Env) -> dict[str, str]:
    """{user: shell} of accounts that can log in, from /etc/passwd."""
    out: dict[str, str] = {}
    try:
        lines = env.path("/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(":")
        if len(parts) >= 7 and not parts[6].rstrip().endswith(NO_LOGIN):
            out[parts[0]] = parts[6]
    return out


def empty_passwords(env: Env, users: set[str]) -> list[str] | None:
    """Login accounts with an empty password field in /etc/shadow; None when it cannot be read."""
    try:
        lines = env.path("/etc/shadow").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return sorted(p[0] for p in (line.split(":") for line in lines) if len(p) > 1 and p[0] in users and p[1] == "")


def ssh_root_login(env: Env) -> bool | None:
    """True when sshd allows root to log in with a password; None when sshd is not configured."""
    conf = env.path("/etc/ssh/sshd_config")
    if not conf.exists():
        return None
    value = "prohibit-password"  # OpenSSH's default
    for line in conf.read_text(encoding="utf-8", errors="replace").splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 2 and words[0].lower() == "permitrootlogin":
            value = words[1].lower()
            break  # sshd takes the first value it reads
    return value == "yes"


def gather(env: Env) -> list[AgentObservation]:
    accounts = login_accounts(env)
    checks: dict[str, bool] = {}
    details: dict[str, object] = {}
    encrypted = disk_encrypted(env)
    if encrypted is not None:
        checks["disk_encrypted"] = encrypted
    guests = sorted(u for u in accounts if u.lower() in GUEST_NAMES)
    checks["no_guest_account"] = not guests
    details["guest_accounts"] = guests
    empty = empty_passwords(env, set(accounts))
    if empty is not None:
        checks["no_empty_password"] = not empty
        details["empty_password_accounts"] = empty
    root_ssh = ssh_root_login(env)
    if root_ssh is not None:
        checks["no_root_ssh_password_login"] = not root_ssh
    return [env.observe("host.hardening", {"checks": checks, "details": details})]
