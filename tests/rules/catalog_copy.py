"""A copy of the shipped catalog with some controls' parameters changed, for CLAUSEWATCH_CONTROLS_DIR."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rules.catalog import CONTROLS_DIR


def catalog_with(folder: Path, params: dict[str, dict[str, Any]]) -> Path:
    """Write the shipped controls to `folder`, each control id in `params` with those values set."""
    folder.mkdir(parents=True, exist_ok=True)
    left = dict(params)
    for path in sorted(CONTROLS_DIR.glob("*.yaml")):
        controls = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for control in controls:
            control.setdefault("params", {}).update(left.pop(control["id"], {}))
        (folder / path.name).write_text(yaml.safe_dump(controls, allow_unicode=True, sort_keys=False),
                                        encoding="utf-8")
    assert not left, f"no such controls: {sorted(left)}"
    return folder
