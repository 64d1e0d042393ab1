"""The production realm, generated from deploy/keycloak/realm-phoi.json: the same realm without the
loopback redirect URIs (RFC 8252 `http://localhost/*`, `http://127.0.0.1/*`, which the one-machine stack
and developers need) and without the staging host, so that the production Keycloak sends codes and
tokens to the production portal only. The staging overlay imports realm-phoi.json as it is.

`python -m phoi_local.realms` rewrites deploy/keycloak/realm-phoi.production.json (committed, imported
by deploy/k8s/overlays/production); tests/deploy/test_realms.py fails while it is out of date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from phoi_local.stack import REPO_ROOT

SOURCE = REPO_ROOT / "deploy" / "keycloak" / "realm-phoi.json"
PRODUCTION = REPO_ROOT / "deploy" / "keycloak" / "realm-phoi.production.json"


def is_production_uri(uri: str) -> bool:
    """https on a public host that is not the staging one (`+` and `*` in webOrigins are kept)."""
    if uri in ("+", "*"):
        return True
    parts = urlsplit(uri)
    return parts.scheme == "https" and not (parts.hostname or "").startswith("staging.")


def production_realm(realm: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(realm))
    for client in out.get("clients", []):
        for key in ("redirectUris", "webOrigins"):
            if key in client:
                client[key] = [u for u in client[key] if is_production_uri(u)]
        attributes = client.get("attributes", {})
        if "post.logout.redirect.uris" in attributes:
            # Keycloak's list separator is `##`; `+` means "the redirect URIs".
            uris = attributes["post.logout.redirect.uris"].split("##")
            attributes["post.logout.redirect.uris"] = "##".join(u for u in uris if is_production_uri(u))
    return out


def render(source: Path = SOURCE) -> str:
    return json.dumps(production_realm(json.loads(source.read_text())), ensure_ascii=False, indent=2) + "\n"


def main() -> None:
    PRODUCTION.write_text(render())
    print(f"wrote {PRODUCTION.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
