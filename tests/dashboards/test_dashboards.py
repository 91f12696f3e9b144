"""Grafana dashboards: well-formed, and every query names metrics that /metrics exports."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.exported_metrics import exported_metric_names

DASHBOARDS = sorted((Path(__file__).resolve().parents[2] / "dashboards").glob("*.json"))
METRIC = re.compile(r"\b(clausewatch_[a-z0-9_]+)")


def queries(path: Path) -> list[str]:
    return [t["expr"] for p in json.loads(path.read_text(encoding="utf-8"))["panels"] for t in p.get("targets", [])]


def test_the_four_dashboards_exist():
    assert {p.stem for p in DASHBOARDS} >= {"site-overview", "machine-room", "cameras", "terminals"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_shape(path):
    d = json.loads(path.read_text(encoding="utf-8"))
    assert d["uid"].startswith("clausewatch-") and d["title"]
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for p in d["panels"]:
        assert p["targets"] and {"x", "y", "w", "h"} <= set(p["gridPos"])
        assert p["datasource"]["uid"] == "${datasource}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_query_names_metrics_we_export(path, tmp_path):
    exported = exported_metric_names(tmp_path)
    for expr in queries(path):
        names = METRIC.findall(expr)
        assert names, f"query names no clausewatch metric: {expr}"
        assert set(names) <= exported, f"{path.name}: {set(names) - exported} not exported ({expr})"
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}")
