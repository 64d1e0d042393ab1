#!/usr/bin/env bash
# `make images`: build phoi/<service>:<version> for every service with whatever this machine has.
# Docker when its engine answers, else buildah (the test machines have no engine).
# Usage: build.sh [service...]   Environment: BASE (the base image; default: the Dockerfile's),
# PIP_CA_BUNDLE, VERSION (tag, default 0.1.0), BUILDER (docker|buildah, default: detected).
set -euo pipefail
cd "$(dirname "$0")/../.."
SERVICES=("$@")
[[ ${#SERVICES[@]} -gt 0 ]] || SERVICES=(identity requests inventory audit portal)
VERSION="${VERSION:-0.1.0}"
REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
args=(--file deploy/images/Dockerfile --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION"
      --build-arg "CREATED=$CREATED")
[[ -n "${BASE:-}" ]] && args+=(--build-arg "BASE=$BASE")
# PIP_CA_BUNDLE: a CA bundle pip needs to reach the package index (a TLS-inspecting proxy), as a build secret.
[[ -n "${PIP_CA_BUNDLE:-}" ]] && args+=(--secret "id=pip-ca,src=$PIP_CA_BUNDLE")

if [[ -z "${BUILDER:-}" ]]; then
    if command -v docker >/dev/null && docker info >/dev/null 2>&1; then BUILDER=docker
    elif command -v buildah >/dev/null; then BUILDER=buildah
    else echo "make images: neither a Docker engine nor buildah is here (apt-get install buildah)" >&2; exit 1
    fi
fi

for service in "${SERVICES[@]}"; do
    echo "make images: $BUILDER builds phoi/$service:$VERSION" >&2
    case "$BUILDER" in
        docker) docker build "${args[@]}" --target "$service" --tag "phoi/$service:$VERSION" . ;;
        # --layers keeps the build stage between targets (the dependency layer is made once);
        # docker format, as the OCI format has no HEALTHCHECK; --pull-never when BASE is local.
        buildah) buildah bud "${args[@]}" --layers --format docker --isolation "${ISOLATION:-chroot}" \
                     ${BASE:+--pull-never} --target "$service" --tag "phoi/$service:$VERSION" . ;;
        *) echo "make images: unknown BUILDER=$BUILDER" >&2; exit 1 ;;
    esac
done
