from __future__ import annotations

from pathlib import Path

from agents.config import AgentConfig
from agents.env import CommandResult, run_command
from agents.probes import software

DPKG = ("bash\t5.2.15-2+b2\tii \ncoreutils\t9.1-1\tii \nanydesk\t6.3.0\tii \nlibc6\t2.36-9\tii \n"
        "oldpkg\t1.0\trc \n")


def test_the_probe_reports_what_is_installed_and_the_allowlist_it_was_given(make_env) -> None:
    env = make_env(AgentConfig.model_validate({"software": {"allowlist": ["bash", "lib*"]}}),
                   answers={"dpkg-query": CommandResult(0, DPKG)})
    p = software.gather(env)[0].payload
    assert p["count"] == 4 and p["manager"] == "dpkg"  # removed-but-configured (rc) is not installed
    assert p["names"] == ["anydesk", "bash", "coreutils", "libc6"] and p["allowlist"] == ["bash", "lib*"]
    assert "unapproved" not in p  # the check decides that


def test_allowlist_file_and_no_package_manager(make_env, tmp_path: Path) -> None:
    f = tmp_path / "allow.txt"
    f.write_text("# site allow-list\nbash\ncoreutils  # shell tools\n")
    assert software.load_allowlist(["anydesk"], f) == ["anydesk", "bash", "coreutils"]
    p = software.gather(make_env())[0].payload
    assert p["names"] == [] and p["allowlist"] == [] and "dpkg-query" in p["probe_error"]


def test_this_machines_dpkg_database(make_env) -> None:
    env = make_env(AgentConfig.model_validate({"software": {"allowlist": ["*"], "include_packages": True}}))
    env.run = run_command
    p = software.gather(env)[0].payload
    assert p["count"] > 50 and p["allowlist"] == ["*"] and "bash" in p["names"]
    assert any(x["name"] == "clamav" for x in p["packages"])


def test_new_installs_are_observations(make_env, tmp_path: Path) -> None:
    cfg = AgentConfig.model_validate({"software": {"allowlist": ["bash", "coreutils", "lib*"]}})
    first = make_env(cfg, answers={"dpkg-query": CommandResult(0, "bash\t5.2\tii \nlibc6\t2.36-9\tii \n")},
                     state_dir=tmp_path / "state")
    assert [o.kind for o in software.gather(first)] == ["software.inventory"]  # nothing to compare with yet
    second = make_env(cfg, answers={"dpkg-query": CommandResult(0, DPKG)}, state_dir=tmp_path / "state")
    obs = software.gather(second)
    assert [o.kind for o in obs] == ["software.inventory", "software.change"]
    change = obs[1].payload
    assert [a["name"] for a in change["added"]] == ["anydesk", "coreutils"]
    assert change["changed"] == [{"name": "bash", "from": "5.2", "to": "5.2.15-2+b2"}]
    assert change["removed"] == []
    assert [o.kind for o in software.gather(second)] == ["software.inventory"]  # unchanged: no change observation
