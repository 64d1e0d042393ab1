"""Every image the manifests name is one `make images` builds (deploy/images.yaml, the one list the image
build is checked against too), started with the command and on the port that image serves."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

import yaml

IMAGES_FILE = Path(__file__).resolve().parents[2] / "deploy" / "images.yaml"
IMAGES: dict[str, dict[str, Any]] = yaml.safe_load(IMAGES_FILE.read_text())["images"]
# The base maps phoi/<service> to this placeholder registry (deploy/k8s/base/kustomization.yaml).
REGISTRY = "registry.example.invalid/"
# Images of the platform, not ours: started by their own entry points.
THIRD_PARTY = ("quay.io/keycloak/keycloak",)

Obj = dict[str, Any]


def logical_name(image: str) -> str:
    """registry.example.invalid/phoi/audit:1.0.0 -> phoi/audit."""
    return image.rsplit(":", 1)[0].removeprefix(REGISTRY)


def containers(objs: list[Obj]) -> list[tuple[Obj, Obj]]:
    out = []
    for obj in objs:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            spec = obj["spec"]["template"]["spec"]
            out += [(obj, c) for c in [*spec.get("initContainers", []), *spec["containers"]]]
    return out


def test_every_image_is_built_and_started_as_it_serves(rendered: list[Obj]) -> None:
    used = set()
    for obj, c in containers(rendered):
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        name = logical_name(c["image"])
        if name.startswith(THIRD_PARTY):
            continue
        assert name in IMAGES, f"{where}: {c['image']} is not an image `make images` builds (deploy/images.yaml)"
        used.add(name)
        image = IMAGES[name]
        if obj["kind"] == "Job":
            assert c["command"] == image["migrate"], where
            continue
        assert c["command"] == image["command"], where
        ports = {p["containerPort"] for p in c["ports"]}
        assert ports == {image["port"]}, f"{where}: ports {ports}, the image serves {image['port']}"
        for probe in ("livenessProbe", "readinessProbe"):
            assert c[probe]["httpGet"]["port"] in ("http", image["port"]), where
    assert used == set(IMAGES), f"built but never deployed: {set(IMAGES) - used}"


def test_services_route_to_the_port_the_image_serves(rendered: list[Obj]) -> None:
    deployments = {o["metadata"]["name"]: o for o in rendered if o["kind"] == "Deployment"}
    for service in (o for o in rendered if o["kind"] == "Service" and o["metadata"]["name"] in deployments):
        (c,) = deployments[service["metadata"]["name"]]["spec"]["template"]["spec"]["containers"]
        port = IMAGES[logical_name(c["image"])]["port"]
        assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(port, "http")]


def test_the_image_list_matches_the_code() -> None:
    """Each command is a module that exists, and the port is the service's own default."""
    for name, image in IMAGES.items():
        package = "phoi_" + name.removeprefix("phoi/")
        assert image["command"] == ["python", "-m", package], name
        assert importlib.util.find_spec(f"{package}.__main__"), name
        assert image["migrate"] == ["python", "-m", f"{package}.migrate"], name
        assert importlib.util.find_spec(f"{package}.migrate"), name
        settings = importlib.import_module(f"{package}.settings").Settings
        assert settings.model_fields["port"].default == image["port"], name
