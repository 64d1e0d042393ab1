"""What the monitoring in deploy/k8s uses and what the services expose: metric names in PromQL, the
dashboards' and alert rules' expressions, the names a /metrics page declares, and a structural check
of a Grafana dashboard. Shared by tests/deploy (static) and tests/test_monitoring_metrics.py (live)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from phoi_local.stack import REPO_ROOT

MONITORING = REPO_ROOT / "deploy" / "k8s" / "base" / "platform" / "monitoring"
DASHBOARDS = MONITORING / "dashboards"
RULES = MONITORING / "prometheusrule.yaml"

Obj = dict[str, Any]

_PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
    "offset", "inf", "nan", "atan2",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (not functions, keywords, labels or template variables)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"\{[^{}]*\}", "", s)
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", s)
    s = re.sub(r"\[[^\]]*\]", "", s)
    s = re.sub(r"\$\{[^}]*\}|\$\w+", "", s)
    names = set()
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?", s):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in _PROMQL_KEYWORDS:
            continue
        names.add(word)
    return names


def panel_exprs(dashboard: Obj) -> Iterator[str]:
    """Every target expression of a dashboard, rows' nested panels included."""

    def walk(panels: list[Obj]) -> Iterator[str]:
        for p in panels:
            for t in p.get("targets", []):
                yield t["expr"]
            yield from walk(p.get("panels", []))

    yield from walk(dashboard["panels"])


def variable_metrics(dashboard: Obj) -> set[str]:
    """Metrics of the query variables (`label_values(metric, label)`)."""
    names = set()
    for var in dashboard.get("templating", {}).get("list", []):
        if var["type"] == "query":
            m = re.match(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)", var["definition"])
            if m:
                names.add(m.group(1))
    return names


def dashboard_metrics(dashboard: Obj) -> set[str]:
    return {n for e in panel_exprs(dashboard) for n in metric_names(e)} | variable_metrics(dashboard)


def rules(rule_file: Path = RULES) -> list[Obj]:
    doc = yaml.safe_load(rule_file.read_text())
    return [r for g in doc["spec"]["groups"] for r in g["rules"]]


def exposed_names(exposition: str) -> set[str]:
    """Every series name a /metrics page declares, whether or not a labelled metric has a sample yet
    (prometheus_client writes HELP/TYPE for it): counters as `_total`, histograms as
    `_bucket`/`_sum`/`_count`, plus every sample name written."""
    suffixes = {
        "counter": ("_total",),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count"),
        "summary": ("", "_sum", "_count"),
        "info": ("_info",),
    }
    names = set()
    for family in text_string_to_metric_families(exposition):
        names |= {family.name + s for s in suffixes.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def dashboard_problems(board: Obj) -> list[str]:
    """What keeps a dashboard from loading in Grafana as meant: required keys, unique panel ids, and every
    non-row panel on the Prometheus data source variable with at least one query."""
    problems = [
        f"missing {k}" for k in ("uid", "title", "schemaVersion", "panels", "templating", "time") if k not in board
    ]
    if problems:
        return problems
    variables = {v["name"]: v for v in board["templating"]["list"]}
    if variables.get("datasource", {}).get("type") != "datasource":
        problems.append("no `datasource` variable of type datasource")
    panels = [p for top in board["panels"] for p in [top, *top.get("panels", [])]]
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)) or not all(isinstance(i, int) for i in ids):
        problems.append(f"panel ids not unique integers: {ids}")
    for p in panels:
        where = f"panel {p.get('id')} {p.get('title')!r}"
        if not p.get("type") or not p.get("title") or set(p.get("gridPos", {})) != {"h", "w", "x", "y"}:
            problems.append(f"{where}: needs type, title and gridPos h/w/x/y")
        if p.get("type") == "row":
            continue
        if p.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
            problems.append(f"{where}: datasource is not the Prometheus variable")
        targets = p.get("targets") or []
        ref_ids = [t.get("refId") for t in targets]
        if not targets or not all(t.get("expr") for t in targets) or len(set(ref_ids)) != len(ref_ids):
            problems.append(f"{where}: needs targets, each with an expr and its own refId")
    return problems


def selector_labels(expr: str) -> dict[str, set[str]]:
    """Label names each metric's selector filters on: `m{a="x", b=~"y"}` -> {"m": {"a", "b"}}."""
    out: dict[str, set[str]] = {}
    for m in re.finditer(r"([A-Za-z_:][A-Za-z0-9_:]*)\{([^{}]*)\}", expr):
        labels = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", m.group(2)))
        out.setdefault(m.group(1), set()).update(labels)
    return out


def grouping_labels(expr: str) -> set[str]:
    """Label names of the `by (...)` and `without (...)` clauses."""
    return {
        label.strip()
        for clause in re.findall(r"\b(?:by|without)\s*\(([^()]*)\)", expr)
        for label in clause.split(",")
        if label.strip()
    }
