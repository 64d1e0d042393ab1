"""Every metric a Grafana dashboard or an alert rule uses exists: in the real /metrics of the running
services (the whole system as `make run` starts it), as a recording rule, or from a platform component
named below by prefix; every label they filter or group on is one the metric has; and every dashboard
is a Grafana dashboard that loads as meant."""

from __future__ import annotations

import json

import httpx
import pytest
from phoi_local import monitoring
from phoi_local.system import SERVICES, Stack
from prometheus_client.metrics import MetricWrapperBase

# Series that no PHOI service exports, by prefix, and who does.
PLATFORM = {
    "up": "Prometheus itself, one per scraped target",
    "cnpg_": "CloudNativePG's exporter in every PostgreSQL instance (PodMonitor postgres)",
    "barman_cloud_": "the Barman Cloud plugin of CloudNativePG (backup timestamps)",
    "certmanager_": "cert-manager's controller (certificate expiry and readiness)",
    "kafka_": "Strimzi's Kafka Exporter (PodMonitor kafka-exporter: consumer-group lag)",
}


def platform_reason(name: str) -> str | None:
    return next(
        (
            why
            for prefix, why in PLATFORM.items()
            if name == prefix or (prefix.endswith("_") and name.startswith(prefix))
        ),
        None,
    )


@pytest.fixture(scope="module")
def exposed(system_stack: Stack) -> set[str]:
    names: set[str] = set()
    for service in SERVICES:
        response = httpx.get(f"{system_stack.url(service)}/metrics", timeout=30)
        assert response.status_code == 200, service
        names |= monitoring.exposed_names(response.text)
    return names


def used_metrics() -> dict[str, set[str]]:
    """Where each metric is used: dashboard file names and alert names."""
    used: dict[str, set[str]] = {}
    for path in sorted(monitoring.DASHBOARDS.glob("*.json")):
        for name in monitoring.dashboard_metrics(json.loads(path.read_text())):
            used.setdefault(name, set()).add(path.name)
    for rule in monitoring.rules():
        for name in monitoring.metric_names(rule["expr"]):
            used.setdefault(name, set()).add(rule.get("alert") or rule["record"])
    return used


def test_every_metric_used_is_exposed(exposed: set[str]) -> None:
    recorded = {r["record"] for r in monitoring.rules() if "record" in r}
    used = used_metrics()
    assert {"http_requests_total", "outbox_pending", "inventory_blanks"} <= set(used)
    missing = {
        name: sorted(where)
        for name, where in used.items()
        if name not in exposed and name not in recorded and platform_reason(name) is None
    }
    assert not missing, f"used but exported by nothing: {missing}"


def test_the_platform_exclusions_are_needed(exposed: set[str]) -> None:
    """An exclusion that matches one of our own metrics, or nothing used, would hide a mistake."""
    used = set(used_metrics())
    for prefix in PLATFORM:
        assert not [n for n in exposed if platform_reason(n) and n.startswith(prefix)], prefix
        assert [n for n in used if n == prefix or (prefix.endswith("_") and n.startswith(prefix))], prefix


def test_every_dashboard_is_valid_grafana_json() -> None:
    paths = sorted(monitoring.DASHBOARDS.glob("*.json"))
    assert len(paths) >= 3
    problems = {p.name: monitoring.dashboard_problems(json.loads(p.read_text())) for p in paths}
    assert not {k: v for k, v in problems.items() if v}


def test_the_dashboard_check_finds_mistakes() -> None:
    board = json.loads((monitoring.DASHBOARDS / "event-flow.json").read_text())
    panel = next(p for p in board["panels"] if p["type"] != "row")
    panel["datasource"] = {"type": "prometheus", "uid": "prometheus"}
    panel["targets"] = []
    del board["time"]
    assert monitoring.dashboard_problems(board) == ["missing time"]
    board["time"] = {"from": "now-6h", "to": "now"}
    problems = monitoring.dashboard_problems(board)
    assert any("datasource is not" in p for p in problems)
    assert any("needs targets" in p for p in problems)


def test_exposed_names_follow_the_exposition_types() -> None:
    text = (
        "# HELP a_total x\n# TYPE a_total counter\n"
        "# HELP h x\n# TYPE h histogram\n"
        '# HELP g x\n# TYPE g gauge\ng{service="s"} 1.0\n'
    )
    assert monitoring.exposed_names(text) >= {"a_total", "h_bucket", "h_sum", "h_count", "g"}


# Labels Prometheus adds to every series it scrapes through a ServiceMonitor (`service` is also the
# services' own label, kept by honorLabels).
TARGET_LABELS = {"namespace", "pod", "instance", "job", "container", "endpoint", "service"}


def declared_labels() -> dict[str, set[str]]:
    """Label names of every metric the services define, by series name, from the metric objects."""
    import phoi_audit.metrics
    import phoi_inventory.metrics
    import phoi_kit.metrics

    labels: dict[str, set[str]] = {}
    for module in (phoi_kit.metrics, phoi_audit.metrics, phoi_inventory.metrics):
        for metric in vars(module).values():
            if isinstance(metric, MetricWrapperBase):
                names = set(metric._labelnames)  # no public accessor; stable since prometheus_client 0.4
                kind = str(metric._type)
                suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(kind, [""])
                base = metric._name
                for suffix in suffixes:
                    labels[base + suffix] = names | ({"le"} if suffix == "_bucket" else set())
    return labels


def exprs_in_use() -> list[tuple[str, str]]:
    """(where, expression) of every dashboard target, query variable and rule."""
    out = [(r.get("alert") or r["record"], r["expr"]) for r in monitoring.rules()]
    for path in sorted(monitoring.DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text())
        out += [(path.name, e) for e in monitoring.panel_exprs(board)]
        out += [(path.name, v["definition"]) for v in board["templating"]["list"] if v["type"] == "query"]
    return out


def test_every_label_filtered_or_grouped_on_exists() -> None:
    """A dashboard grouping by a label the metric does not have shows one flat line, silently."""
    declared = declared_labels()
    assert "http_requests_total" in declared
    wrong = []
    for where, expr in exprs_in_use():
        ours = {m for m in monitoring.metric_names(expr) if platform_reason(m) is None}
        for metric, labels in monitoring.selector_labels(expr).items():
            if metric in declared and labels - declared[metric] - TARGET_LABELS:
                wrong.append((where, metric, labels - declared[metric] - TARGET_LABELS))
        if ours and ours == monitoring.metric_names(expr):
            available = set().union(*(declared.get(m, set()) for m in ours)) | TARGET_LABELS
            if monitoring.grouping_labels(expr) - available:
                wrong.append((where, expr, monitoring.grouping_labels(expr) - available))
    assert not wrong


def test_label_parsers() -> None:
    assert monitoring.selector_labels('sum by (a) (rate(m{x=~"1", y!="2"}[5m])) / n{z="3"}') == {
        "m": {"x", "y"},
        "n": {"z"},
    }
    assert monitoring.grouping_labels("sum by (service, le) (x) / sum without(pod) (y)") == {"service", "le", "pod"}
