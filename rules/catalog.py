"""Load and validate the control catalog; every error names its file and line."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from rules.audit_params import AUDIT_THRESHOLD_NAMES
from rules.model import Control
from rules.registry import REQUIRED, CheckSpec, load_checks

CONTROLS_DIR = Path(__file__).parent / "controls"
CLAUSES_FILE = Path(__file__).parent / "clauses.yaml"


@dataclass(frozen=True)
class Clause:
    id: str
    zh: str
    en: str
    how: tuple[str, ...]
    order: int


class CatalogError(Exception):
    """Raised with every problem found, each as 'file:line: message'."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@lru_cache(maxsize=1)
def load_clauses() -> dict[str, Clause]:
    items = yaml.safe_load(CLAUSES_FILE.read_text(encoding="utf-8"))
    return {c["id"]: Clause(c["id"], c["zh"], c["en"], tuple(c["how"]), i) for i, c in enumerate(items)}


def _node_at(node: yaml.Node, loc: tuple[Any, ...]) -> yaml.Node:
    """Follow a pydantic error location into the YAML node tree, as far as it goes."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == part), None)
            if nxt is None:
                key = next((k for k, _ in node.value if k.value == part), None)
                return key or node
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node


def _key_line(item: yaml.Node, key: str) -> int:
    if isinstance(item, yaml.MappingNode):
        for k, _ in item.value:
            if k.value == key:
                return k.start_mark.line + 1
    return item.start_mark.line + 1


def _validate_item(path: Path, item: yaml.Node, data: Any, model: type[BaseModel]) -> tuple[Any, list[str]]:
    try:
        return model.model_validate(data), []
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(p for p in err["loc"])
            node = _node_at(item, loc)
            field = ".".join(str(p) for p in loc) or "item"
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{path}:{node.start_mark.line + 1}: {field}: {msg}")
        return None, problems


def load_catalog(directory: Path | str = CONTROLS_DIR) -> list[Control]:
    """Every control in `directory/*.yaml`, validated; raises CatalogError listing all problems."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CatalogError([f"{directory}: not a directory"])
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not files:
        raise CatalogError([f"{directory}: no *.yaml control files"])
    checks = load_checks()
    clauses = load_clauses()
    problems: list[str] = []
    controls: list[Control] = []
    seen: dict[str, str] = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            problems.append(f"{path}:1: not readable UTF-8 text ({e.strerror if isinstance(e, OSError) else e.reason})")
            continue
        try:
            root = yaml.compose(text)
            data = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError) as e:  # RecursionError: hostile nesting
            mark = getattr(e, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            problems.append(f"{path}:{line}: YAML: {getattr(e, 'problem', None) or e}")
            continue
        if root is None:
            continue
        if not isinstance(root, yaml.SequenceNode) or not isinstance(data, list):
            problems.append(f"{path}:{root.start_mark.line + 1}: the file must be a list of controls")
            continue
        for item, raw in zip(root.value, data, strict=True):
            control, errs = _validate_item(path, item, raw, Control)
            problems += errs
            if control is None:
                continue
            where = f"{path}:{_key_line(item, 'id')}"
            if control.id in seen:
                problems.append(f"{where}: id: {control.id} is already defined at {seen[control.id]}")
            seen[control.id] = where
            for cid in control.clauses:
                if cid not in clauses:
                    problems.append(f"{path}:{_key_line(item, 'clauses')}: clauses: {cid!r} is not a tender clause id")
            name = control.check or "manual_evidence"
            if name not in checks:
                problems.append(f"{path}:{_key_line(item, 'check')}: check: no check named {name!r}")
            else:
                problems += _param_problems(f"{path}:{_key_line(item, 'params')}", control, checks[name])
            controls.append(control)
    if not problems and not controls:
        problems.append(f"{directory}: no controls found (every *.yaml file is empty)")
    if problems:
        raise CatalogError(problems)
    order = {cid: c.order for cid, c in clauses.items()}
    controls.sort(key=lambda c: (min(order[x] for x in c.clauses), c.id))
    return controls


def _param_problems(where: str, control: Control, spec: CheckSpec) -> list[str]:
    """Parameters the check does not declare, and those it requires that the control leaves out."""
    problems = []
    unknown_params = set(control.params) - set(spec.params)
    if unknown_params:
        problems.append(f"{where}: params: unknown parameter(s) {', '.join(sorted(unknown_params))} "
                        f"for check {spec.name!r}")
    missing = [n for n, default in spec.params.items() if default is REQUIRED and n not in control.params]
    if missing:
        problems.append(f"{where}: params: check {spec.name!r} needs {', '.join(missing)}")
    for name, value in control.params.items():
        if name in spec.params and (why := _param_type_problem(name, value, spec.params[name])):
            problems.append(f"{where}: params: {name}: {why}")
    return problems


def _param_type_problem(name: str, value: Any, default: Any) -> str:
    """Why `value` cannot stand for a parameter with this default ('' when it can)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if name in AUDIT_THRESHOLD_NAMES:
        return "" if number and value > 0 else f"must be a positive number, not {value!r}"
    if isinstance(default, bool):
        return "" if isinstance(value, bool) else f"must be true or false, not {value!r}"
    if isinstance(default, int | float):
        return "" if number else f"must be a number, not {value!r}"
    if isinstance(default, list):
        return "" if isinstance(value, list) else f"must be a list, not {value!r}"
    return ""


@lru_cache(maxsize=4)
def default_catalog() -> tuple[Control, ...]:
    return tuple(load_catalog(CONTROLS_DIR))


def catalog_at(directory: Path | None) -> list[Control]:
    """The controls of `directory`, or the built-in catalog when None (raises CatalogError)."""
    return load_catalog(directory) if directory is not None else list(default_catalog())


def check_param(controls: list[Control] | tuple[Control, ...], check: str, name: str) -> Any:
    """`name` as the first control judging with `check` sets it (the check's default when it does not),
    for sources that mark what they measure the way that check will judge it."""
    spec = load_checks()[check]
    for control in controls:
        if control.check == check:
            return spec.params_for(control.params)[name]
    return spec.params_for({})[name]
