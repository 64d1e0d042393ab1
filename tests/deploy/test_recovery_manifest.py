"""The production restore manifest (deploy/k8s/recovery, docs/RESTORE_RUNBOOK.md): one recovery Cluster per
database of the base, all to one point in time, none archiving into the backups it restores from, and never part
of a rendered overlay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


def clusters(folder: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in folder.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "Cluster":
                found[doc["metadata"]["name"]] = doc
    return found


def test_every_database_has_a_recovery_cluster_to_one_point_in_time() -> None:
    originals = clusters(K8S / "base" / "platform" / "postgres")
    recovery = clusters(K8S / "recovery")
    assert set(recovery) == {f"{name}-restore" for name in originals}
    kustomization = yaml.safe_load((K8S / "recovery" / "kustomization.yaml").read_text())
    (patch,) = kustomization["patches"]
    (operation,) = yaml.safe_load(patch["patch"])
    assert operation["path"] == "/spec/bootstrap/recovery/recoveryTarget/targetTime"
    assert patch["target"] == {"group": "postgresql.cnpg.io", "kind": "Cluster"}  # every one of them
    for name, original in originals.items():
        restored = recovery[f"{name}-restore"]["spec"]
        source = restored["bootstrap"]["recovery"]["source"]
        (origin,) = [c for c in restored["externalClusters"] if c["name"] == source]
        assert origin["plugin"]["parameters"]["serverName"] == name
        (archiver,) = restored["plugins"]
        assert archiver["isWALArchiver"] is True
        assert archiver["parameters"]["serverName"] == f"{name}-restore"  # never the archive it came from
        initdb = original["spec"]["bootstrap"]["initdb"]
        recovered = restored["bootstrap"]["recovery"]
        assert (recovered["database"], recovered["owner"]) == (initdb["database"], initdb["owner"])
        assert restored["imageName"] == original["spec"]["imageName"]


def test_no_overlay_applies_the_recovery_clusters() -> None:
    for kustomization in K8S.rglob("kustomization.yaml"):
        if kustomization.parent.name == "recovery":
            continue
        resources = yaml.safe_load(kustomization.read_text()).get("resources", [])
        assert not any("recovery" in str(r) for r in resources), kustomization
