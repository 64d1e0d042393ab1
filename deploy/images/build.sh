#!/usr/bin/env bash
# `make images`: build phoi/<service>:<version> for every service with whatever this machine has.
# Docker when its engine answers, else buildah (the test machines have no engine).
# Usage: build.sh [service...]   Environment: BASE (the base image; default: the Dockerfile's),
# PIP_CA_BUNDLE (below), VERSION (tag, default 0.1.0), BUILDER (docker|buildah, default: detected).
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
# The CA bundle pip needs to reach the package index behind a TLS-inspecting proxy, as a build secret:
# PIP_CA_BUNDLE, else the one this machine's pip is told to trust (PIP_CERT, REQUESTS_CA_BUNDLE).
for bundle in "${PIP_CA_BUNDLE:-}" "${PIP_CERT:-}" "${REQUESTS_CA_BUNDLE:-}"; do
    if [[ -n "$bundle" && -f "$bundle" ]]; then args+=(--secret "id=pip-ca,src=$bundle"); break; fi
done
# A base image made here (base-image.sh) is in buildah's store only: never try to pull it.
buildah_args=(--layers --force-rm --format docker --isolation "${ISOLATION:-chroot}")
[[ "${BASE:-}" == localhost/* ]] && buildah_args+=(--pull-never)

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
        # docker format, as the OCI format has no HEALTHCHECK.
        buildah) buildah bud "${args[@]}" "${buildah_args[@]}" --target "$service" --tag "phoi/$service:$VERSION" . ;;
        *) echo "make images: unknown BUILDER=$BUILDER" >&2; exit 1 ;;
    esac
done
