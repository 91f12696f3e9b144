"""Each extra installs alone, at the pinned versions, and runs what it is for.

An extra's entry modules are where its commands and daemons start (the table below). In a fresh
virtualenv holding the package with only that extra, the `clausewatch` command must build (every
command module imports), the entry modules must import, and every third-party module their code
imports, inside functions too, must be importable: a lazy import fails only when a user reaches it.
The core's entry modules are the command and the service, the web extra's the dashboard: their
report, upload and batch pages use the reports, facility and lifecycle extras, so a collector host
installs those too, and only module-level imports are checked for them.
"""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import ROOT

REQUIREMENTS = ROOT / "requirements"
CONSTRAINTS = REQUIREMENTS / "constraints.txt"
LOCAL_PACKAGES = ("agents", "camera", "collector", "rules")
OPTIONAL_BACKEND = ("collector.store.postgres", "collector.store.pg")  # the PostgreSQL store and its parts
# extra -> (entry modules, whether their third-party imports, lazy ones included, must all resolve)
ENTRY_MODULES: dict[str, tuple[list[str], bool]] = {
    "": (["collector.cli.main", "collector.app"], False),
    "agent": (["agents.daemon", "agents.once", "agents.pii_watch", "agents.enforce.usb",
               "collector.cli.agent"], True),
    "camera": (["camera.worker", "camera.probe", "camera.floorplan", "camera.floor_coverage", "camera.retention",
                "collector.cli.camera"], True),
    "facility": (["collector.sources.pollers.run", "collector.cli.facility"], True),
    "lifecycle": (["collector.cli.lifecycle", "collector.cli.lifecycle_audits",
                   "collector.cli.lifecycle_accounts", "collector.cli.lifecycle_batches"], True),
    "postgres": (["collector.store.postgres"], True),
    "reports": (["collector.cli.reports", "collector.reports.build"], True),
    # the dashboard's report and batch pages use the reports and lifecycle extras, as the service does
    "web": (["collector.web.routes"], False),
    "dev": (["pytest", "pytest_timeout", "docx", "aiosmtpd", "playwright.sync_api"], False),
}


def _requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [Requirement(line) for line in lines if line]


def _pins() -> dict[str, str]:
    pins = {}
    for req in _requirements(CONSTRAINTS):
        [spec] = req.specifier
        pins[_canonical(req.name)] = spec.version
    return pins


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


DECLARED = sorted(p for p in REQUIREMENTS.glob("*.txt") if p != CONSTRAINTS)


@pytest.mark.parametrize("path", DECLARED, ids=lambda p: p.stem)
def test_every_requirement_is_pinned_within_its_floor(path: Path):
    pins = _pins()
    for req in _requirements(path):
        pin = pins.get(_canonical(req.name))
        assert pin is not None, f"{path.name}: {req.name} has no pin in constraints.txt (make constraints)"
        assert req.specifier.contains(pin), f"{path.name}: {req} excludes the pinned {req.name}=={pin}"


def test_every_extra_has_entry_modules():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    declared = {line.split(" = ", 1)[0] for line in pyproject.splitlines() if "{ file = [\"requirements/" in line}
    assert declared - {"dependencies"} == set(ENTRY_MODULES) - {""}


def _module_file(name: str) -> Path | None:
    base = ROOT / name.replace(".", "/")
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imported_names(module: str, path: Path) -> list[str]:
    """Every module name `module`'s code imports, at module level or inside functions."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names += [base] + [f"{base}.{a.name}" for a in node.names]
    return names


def third_party_imports(entries: list[str]) -> set[str]:
    """Top-level third-party modules reachable from `entries` through the project's own imports."""
    seen: set[str] = set()
    found: set[str] = set()
    todo = list(entries)
    while todo:
        module = todo.pop()
        path = _module_file(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        for name in _imported_names(module, path):
            top = name.split(".")[0]
            if top in LOCAL_PACKAGES:
                if name.startswith(OPTIONAL_BACKEND) and not module.startswith(OPTIONAL_BACKEND):
                    continue  # opened only for a postgresql:// store, which needs the postgres extra
                todo.append(name)
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                found.add(top)
    return found


def test_the_agent_closure_reaches_its_lazy_imports():
    # the lingering-data watch imports watchdog inside a function, the PDF reader inside another
    assert {"watchdog", "numpy", "pypdf", "pyudev"} <= third_party_imports(ENTRY_MODULES["agent"][0])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The package built once from a copy of the sources (a build in place would write into the checkout)."""
    src = tmp_path_factory.mktemp("src")
    for name in (*LOCAL_PACKAGES, "requirements"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    [built] = out.glob("clausewatch-*.whl")
    return built


@pytest.mark.slow
@pytest.mark.parametrize("extra", list(ENTRY_MODULES), ids=lambda e: e or "core")
def test_extra_installs_alone_and_imports(extra: str, wheel: Path, tmp_path: Path):
    entries, closure = ENTRY_MODULES[extra]
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    target = f"clausewatch[{extra}] @ {wheel.as_uri()}" if extra else f"clausewatch @ {wheel.as_uri()}"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                              "-c", str(CONSTRAINTS), target], capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr
    modules = sorted(set(entries) | (third_party_imports(entries) if closure else set()))
    script = ("import importlib, sys\n"
              "from collector.cli.main import build_app\n"
              "build_app()\n"
              f"for name in {modules!r}:\n"
              "    importlib.import_module(name)\n")
    # run outside the checkout, so that only what was installed can be imported
    check = subprocess.run([str(python), "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, f"[{extra or 'core'}] {check.stderr[-2000:]}"
