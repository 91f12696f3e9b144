"""Hardening of machines holding data files (DATA-HOST-HARDENED), on a fake root and sysfs."""
from __future__ import annotations

import pytest

from agents.once import judge
from agents.probes import hardening
from tests.agents.conftest import NOW

PASSWD = ("root:x:0:0:root:/root:/bin/bash\nzhang:x:1000:1000::/home/zhang:/bin/bash\n"
          "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n")


def _setup(env, *, passwd=PASSWD, shadow=None, sshd=None, crypt=True):
    (env.root / "etc/passwd").write_text(passwd)
    if shadow is not None:
        (env.root / "etc/shadow").write_text(shadow)
    if sshd is not None:
        (env.root / "etc/ssh").mkdir(parents=True, exist_ok=True)
        (env.root / "etc/ssh/sshd_config").write_text(sshd)
    dm = env.sysfs / "block/dm-0/dm"
    dm.mkdir(parents=True)
    (dm / "uuid").write_text("CRYPT-LUKS2-0f1e2d3c-root\n" if crypt else "LVM-abc\n")


@pytest.mark.parametrize(("kw", "failing"), [
    pytest.param({}, [], id="hardened"),
    pytest.param({"crypt": False}, ["disk_encrypted"], id="no disk encryption"),
    pytest.param({"passwd": PASSWD + "guest:x:1001:1001::/home/guest:/bin/sh\n"}, ["no_guest_account"],
                 id="guest account"),
    pytest.param({"shadow": "root:$y$j9T$abc:19000::::::\nzhang::19000::::::\n"}, ["no_empty_password"],
                 id="empty password"),
    pytest.param({"sshd": "# PermitRootLogin no\nPermitRootLogin yes\n"}, ["no_root_ssh_password_login"],
                 id="root ssh login"),
])
def test_hardening(make_env, kw, failing) -> None:
    env = make_env()
    _setup(env, **kw)
    obs = hardening.gather(env)
    checks = obs[0].payload["checks"]
    assert sorted(k for k, ok in checks.items() if not ok) == failing
    f = next(f for f in judge(obs, NOW) if f["control"] == "DATA-HOST-HARDENED")
    assert f["status"] == ("fail" if failing else "pass")


def test_unreadable_shadow_and_no_sshd_are_left_out_not_passed(make_env) -> None:
    env = make_env()
    _setup(env)
    checks = hardening.gather(env)[0].payload["checks"]
    assert "no_empty_password" not in checks and "no_root_ssh_password_login" not in checks
