"""Rendering of deploy/k8s for the tests here: `kubectl kustomize` (kustomize v5 built into kubectl) or a
standalone `kustomize build`, always with `--load-restrictor LoadRestrictionsNone` (the Keycloak realm
lives outside the kustomization roots, deploy/k8s/README.md). Without a renderer the rendering tests
skip, except under `make k8s-check` (PHOI_K8S_CHECK=1), where a missing renderer is a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TARGETS = ("base", "overlays/staging", "overlays/production")

Obj = dict[str, Any]


def find_renderer() -> list[str] | None:
    """`kustomize build` or `kubectl kustomize`, with the load restrictor the README documents."""
    candidates = []
    if os.environ.get("KUSTOMIZE"):
        candidates.append([os.environ["KUSTOMIZE"], "build"])
    if shutil.which("kustomize"):
        candidates.append(["kustomize", "build"])
    if shutil.which("kubectl"):
        candidates.append(["kubectl", "kustomize"])
    for cmd in candidates:
        probe = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=60, check=False)
        if probe.returncode == 0 and "load-restrictor" in probe.stdout + probe.stderr:
            return [*cmd, "--load-restrictor", "LoadRestrictionsNone"]
    return None


@pytest.fixture(scope="session")
def deploy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/ as it is; while realm-phoi.json is not written yet, a copy with a stub realm."""
    if (DEPLOY / "keycloak" / "realm-phoi.json").exists():
        return DEPLOY
    copy = tmp_path_factory.mktemp("deploy") / "deploy"
    shutil.copytree(DEPLOY / "k8s", copy / "k8s")
    (copy / "keycloak").mkdir(parents=True)
    (copy / "keycloak" / "realm-phoi.json").write_text(json.dumps({"realm": "phoi", "enabled": True}))
    return copy


@pytest.fixture(scope="session")
def renderer() -> list[str]:
    cmd = find_renderer()
    if cmd is None:
        reason = (
            "no kustomize renderer: neither `kustomize` nor `kubectl` (with kustomize v5 built in) is on "
            "PATH; only the pure-Python checks ran (test_pure_python_*)"
        )
        if os.environ.get("PHOI_K8S_CHECK"):
            pytest.fail(reason)
        pytest.skip(reason)
    return cmd


_cache: dict[str, list[Obj]] = {}


@pytest.fixture(scope="session")
def render(renderer: list[str], deploy_root: Path) -> Callable[[str], list[Obj]]:
    """Renders a target ("base", "overlays/production") once per session."""

    def rendered_target(target: str) -> list[Obj]:
        if target not in _cache:
            out = subprocess.run(
                [*renderer, str(deploy_root / "k8s" / target)],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert out.returncode == 0, f"rendering {target} failed:\n{out.stderr}"
            _cache[target] = [d for d in yaml.safe_load_all(out.stdout) if d]
        return _cache[target]

    return rendered_target


@pytest.fixture(params=TARGETS, ids=lambda t: t.replace("overlays/", ""))
def rendered(request: pytest.FixtureRequest, render: Callable[[str], list[Obj]]) -> list[Obj]:
    return render(request.param)


@pytest.fixture
def production(render: Callable[[str], list[Obj]]) -> list[Obj]:
    return render("overlays/production")


@pytest.fixture
def staging(render: Callable[[str], list[Obj]]) -> list[Obj]:
    return render("overlays/staging")
