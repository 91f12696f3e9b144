from __future__ import annotations

from pathlib import Path

import pytest

from agents.config import AgentConfig
from agents.env import CommandResult, run_command
from agents.probes import software

DPKG = ("bash\t5.2.15-2+b2\tii \ncoreutils\t9.1-1\tii \nanydesk\t6.3.0\tii \nlibc6\t2.36-9\tii \n"
        "oldpkg\t1.0\trc \n")


@pytest.mark.parametrize("allow, unapproved", [
    pytest.param(["bash", "coreutils", "anydesk", "lib*"], [], id="all allowed"),
    pytest.param(["bash", "coreutils", "lib*"], ["anydesk"], id="one unapproved"),
    pytest.param(["bash", "coreutils"], ["anydesk", "libc6"], id="no wildcard"),
])
def test_unapproved_packages(make_env, allow: list[str], unapproved: list[str]) -> None:
    env = make_env(AgentConfig.model_validate({"software": {"allowlist": allow}}),
                   answers={"dpkg-query": CommandResult(0, DPKG)})
    p = software.gather(env)[0].payload
    assert p["count"] == 4 and p["manager"] == "dpkg"  # removed-but-configured (rc) is not installed
    assert p["unapproved"] == unapproved and p["allowlist_configured"] is True


def test_allowlist_file_and_no_package_manager(make_env, tmp_path: Path) -> None:
    f = tmp_path / "allow.txt"
    f.write_text("# site allow-list\nbash\ncoreutils  # shell tools\n")
    assert software.load_allowlist(["anydesk"], f) == ["anydesk", "bash", "coreutils"]
    p = software.gather(make_env())[0].payload
    assert p["allowlist_configured"] is False and "dpkg-query" in p["probe_error"]


def test_this_machines_dpkg_database(make_env) -> None:
    env = make_env(AgentConfig.model_validate({"software": {"allowlist": ["*"], "include_packages": True}}))
    env.run = run_command
    p = software.gather(env)[0].payload
    assert p["count"] > 50 and p["unapproved"] == []
    assert any(x["name"] == "clamav" for x in p["packages"])
