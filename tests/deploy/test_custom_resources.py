"""Every custom resource the overlays render against the schema of its CRD (deploy/k8s/crd-schemas,
minimal vendored schemas: see the README there), and the references between them."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

SCHEMAS = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "crd-schemas"
# API groups whose objects are built into Kubernetes (validated by kubernetes-validate instead).
BUILT_IN = {"", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io"}

Obj = dict[str, Any]


@cache
def group_schemas(group: str) -> Obj:
    path = SCHEMAS / f"{group}.yaml"
    assert path.exists(), f"no schema for API group {group}: add {path.name} (see crd-schemas/README.md)"
    data: Obj = yaml.safe_load(path.read_text())
    return data


def spec_errors(obj: Obj) -> list[str]:
    """What is wrong with a custom resource's spec, one line each with the path."""
    group, version = obj["apiVersion"].split("/")
    schemas = group_schemas(group)
    assert version == schemas["version"], f"{obj['kind']}: {obj['apiVersion']}, schemas are {schemas['version']}"
    schema = schemas["kinds"].get(obj["kind"])
    assert schema is not None, f"no schema for {obj['kind']} in {group}.yaml"
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{obj['kind']}/{obj['metadata']['name']}: spec.{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(obj.get("spec"))
    ]


def custom_resources(objs: list[Obj]) -> list[Obj]:
    return [o for o in objs if o["apiVersion"].rpartition("/")[0] not in BUILT_IN]


def named(objs: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def test_every_custom_resource_matches_its_crd(rendered: list[Obj]) -> None:
    crs = custom_resources(rendered)
    assert {o["kind"] for o in crs} >= {"Kafka", "KafkaTopic", "KafkaUser", "Cluster", "ScheduledBackup"}
    errors = [line for obj in crs for line in spec_errors(obj)]
    assert not errors, "\n".join(errors)


def test_no_keycloak_operator_resources(rendered: list[Obj]) -> None:
    """Keycloak runs as a StatefulSet (docs/DECISIONS.md, D40): no half-adopted operator resources."""
    assert not [o for o in rendered if o["apiVersion"].startswith("k8s.keycloak.org/")]


def test_custom_resources_refer_to_what_exists(rendered: list[Obj]) -> None:
    kafkas = named(rendered, "Kafka")
    for kind in ("KafkaNodePool", "KafkaTopic", "KafkaUser"):
        for name, obj in named(rendered, kind).items():
            assert obj["metadata"]["labels"].get("strimzi.io/cluster") in kafkas, f"{kind}/{name}: no such Kafka"
    clusters = named(rendered, "Cluster")
    stores = named(rendered, "ObjectStore")
    for name, backup in named(rendered, "ScheduledBackup").items():
        assert backup["spec"]["cluster"]["name"] in clusters, f"ScheduledBackup/{name}: no such Cluster"
    for name, cluster in clusters.items():
        for plugin in cluster["spec"].get("plugins", []):
            assert plugin["parameters"]["barmanObjectName"] in stores, f"Cluster/{name}: no such ObjectStore"
    services = list(named(rendered, "Service").values())
    for name, monitor in named(rendered, "ServiceMonitor").items():
        wanted = monitor["spec"]["selector"]["matchLabels"].items()
        ports = {
            p["name"] for s in services if wanted <= s["metadata"].get("labels", {}).items() for p in s["spec"]["ports"]
        }
        assert ports, f"ServiceMonitor/{name} selects no Service"
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= ports, f"ServiceMonitor/{name}: no such port"


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        ({"kind": "KafkaTopic", "spec": {"partitions": 0}}, "partitions"),
        ({"kind": "KafkaUser", "spec": {"authentication": {"type": "scram-sha-256"}}}, "authentication.type"),
        ({"kind": "Cluster", "spec": {"instances": 1, "storage": {"sizee": "1Gi"}}}, "sizee"),
        ({"kind": "ServiceMonitor", "spec": {"selector": {}, "endpoints": [{"interval": "30 s"}]}}, "interval"),
        ({"kind": "PrometheusRule", "spec": {"groups": [{"name": "g", "rules": [{"alert": "A"}]}]}}, "expr"),
    ],
    ids=lambda v: v["kind"] if isinstance(v, dict) else v,
)
def test_the_schemas_refuse_mistakes(obj: Obj, fragment: str) -> None:
    groups = {"KafkaTopic": "kafka.strimzi.io/v1beta2", "KafkaUser": "kafka.strimzi.io/v1beta2"}
    groups |= {"Cluster": "postgresql.cnpg.io/v1"}
    api = groups.get(obj["kind"], "monitoring.coreos.com/v1")
    errors = spec_errors({**obj, "apiVersion": api, "metadata": {"name": "x"}})
    assert any(fragment in e for e in errors), errors
