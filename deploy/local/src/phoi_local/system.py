"""Test kit for the whole system as `make run` starts it — every service and the portal as its own process, on a
private set of topics — plus the seeding an end-to-end browser walk needs (form type, print batch,
a unit with its account and temporary password). The portal benchmark (`bench/portal_pages.py`) uses it too."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from phoi_local.pki import TestPki, letter_pdf, sign_pdf
from phoi_local.procutil import wait_until
from phoi_local.testing import ServiceProcess, start_service

SERVICES = ("identity", "requests", "inventory", "audit", "portal")
FORM_TYPE = "THPT"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@dataclass
class Stack:
    services: dict[str, ServiceProcess]
    keycloak: Any
    officer: dict[str, str]
    admin: dict[str, str]
    pki: TestPki = field(default_factory=TestPki)  # the CA the requests service trusts in this stack
    counter: dict[str, int] = field(default_factory=lambda: {"serial": 1})

    def signed_letter(
        self, signer: str = "Nguyễn Văn Ân", organisation: str = "Sở Giáo dục và Đào tạo Hà Nội"
    ) -> bytes:
        """A request letter (PDF) digitally signed under the stack's trusted test CA."""
        return sign_pdf(letter_pdf(), self.pki.signer(signer, organisation))

    def url(self, name: str) -> str:
        return self.services[name].url

    @property
    def portal(self) -> str:
        return self.url("portal")

    def api(self, name: str, method: str, path: str, who: dict[str, str], **kw: Any) -> httpx.Response:
        return httpx.request(method, self.url(name) + path, headers={**who, **kw.pop("headers", {})}, timeout=30, **kw)

    def print_batch(self, quantity: int) -> tuple[int, int]:
        """Record a print batch of `quantity` new serials; returns its first and last serial."""
        first = self.counter["serial"]
        last = first + quantity - 1
        self.counter["serial"] = last + 1
        response = self.api(
            "inventory",
            "POST",
            "/api/v1/print-batches",
            self.officer,
            json={
                "form_type": FORM_TYPE,
                "first_serial": first,
                "last_serial": last,
                "printer": "Nhà in Tiến Bộ",
                "contract_ref": f"HĐ-{uuid.uuid4().hex[:6]}",
                "received_on": "2026-03-15",
            },
        )
        assert response.status_code == 201, response.text
        return first, last

    def new_unit_account(self) -> tuple[str, str, str]:
        """A new unit and its unit account, issued by identity: (unit code, username, temporary password)."""
        code = f"T{secrets.token_hex(3).upper()}"
        unit = self.api(
            "identity",
            "POST",
            "/api/v1/units",
            self.admin,
            json={"code": code, "name": f"Trường THPT Thử nghiệm {code}", "kind": "institution", "province": "Hà Nội"},
        )
        assert unit.status_code == 201, unit.text
        account = self.api(
            "identity",
            "POST",
            "/api/v1/accounts",
            self.admin,
            json={"kind": "unit", "unit_code": code, "holder": {"name": "Nguyễn Thị Hoa", "position": "Văn thư"}},
        )
        assert account.status_code == 201, account.text
        body = account.json()
        return code, body["username"], body["temporary_password"]

    def request_of(self, unit_code: str) -> dict[str, Any]:
        response = self.api("requests", "GET", "/api/v1/requests", self.officer, params={"unit_code": unit_code})
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert items, f"no request of {unit_code}"
        detail = self.api("requests", "GET", f"/api/v1/requests/{items[0]['id']}", self.officer)
        return dict(detail.json())

    def submit_request(self, unit: dict[str, str], quantity: int) -> dict[str, Any]:
        """A request of the unit whose token is `unit`, for `quantity` blanks of the form type, with its letter,
        submitted to QLCL through the API; returns the submitted request."""
        created = self.api(
            "requests",
            "POST",
            "/api/v1/requests",
            unit,
            json={
                "academic_year": "2025-2026",
                "exam_session": "Kỳ thi tốt nghiệp THPT năm 2026",
                "lines": [{"form_type_code": FORM_TYPE, "quantity": quantity, "expected_graduates": quantity}],
            },
        )
        assert created.status_code == 201, created.text
        request = created.json()
        attached = self.api(
            "requests",
            "POST",
            f"/api/v1/requests/{request['id']}/attachments",
            unit,
            files={"file": ("cong-van.pdf", PDF, "application/pdf")},
            headers={"If-Match": f'"{request["version"]}"'},
        )
        assert attached.status_code == 201, attached.text
        submitted = self.api(
            "requests",
            "POST",
            f"/api/v1/requests/{request['id']}/submit",
            unit,
            headers={"If-Match": attached.headers["etag"]},
        )
        assert submitted.status_code == 200, submitted.text
        return dict(submitted.json())

    def approve(self, request: dict[str, Any], quantities: list[int]) -> None:
        lines = [
            {"line_id": line["line_id"], "approved_quantity": q}
            for line, q in zip(request["lines"], quantities, strict=True)
        ]
        response = self.api(
            "requests",
            "POST",
            f"/api/v1/requests/{request['id']}/approve",
            self.officer,
            headers={"If-Match": f'"{request["version"]}"'},
            json={"lines": lines, "comment": "Duyệt theo số học sinh thực tế"},
        )
        assert response.status_code == 200, response.text

    def wait_status(self, unit_code: str, status: str, timeout: float = 30) -> dict[str, Any]:
        wait_until(lambda: self.request_of(unit_code)["status"] == status, timeout=timeout, what=f"request {status}")
        return self.request_of(unit_code)

    def new_individual_account(self, role: str, name: str = "Trần Văn Bình") -> tuple[str, str]:
        """A QLCL officer's, administrator's or auditor's account issued by identity: (username, temporary password)."""
        account = self.api(
            "identity",
            "POST",
            "/api/v1/accounts",
            self.admin,
            json={
                "kind": "individual",
                "role": role,
                "username": f"{role.replace('_', '.')}.{secrets.token_hex(3)}",
                "holder": {"name": name, "position": "Chuyên viên"},
            },
        )
        assert account.status_code == 201, account.text
        body = account.json()
        return body["username"], body["temporary_password"]

    def central_free(self) -> int:
        """Blanks of the form type in QLCL's vault, not allocated (other tests share the system)."""
        items = self.api(
            "inventory", "GET", "/api/v1/stock", self.officer, params={"unit_code": "QLCL", "form_type": FORM_TYPE}
        ).json()["items"]
        return sum(i["count"] for i in items if i["state"] == "central")

    def next_serials(self, quantity: int) -> tuple[int, int]:
        """Serials no batch has used yet (for a batch recorded through the portal rather than `print_batch`)."""
        first = self.counter["serial"]
        self.counter["serial"] = first + quantity
        return first, first + quantity - 1


@pytest.fixture(scope="session")
def system_stack(
    pg_server: Any, broker: Any, keycloak: Any, token_for: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with running_system(pg_server, broker, keycloak, token_for, Path(tmp_path_factory.mktemp("stack-logs"))) as stack:
        yield stack


@contextlib.contextmanager
def running_system(
    pg_server: Any,
    broker: Any,
    keycloak: Any,
    token_for: Any,
    logs: Path,
    *,
    names: tuple[str, ...] = SERVICES,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """Every service and the portal (or the `names` given) as processes on fresh databases and a private topic
    prefix, against the given PostgreSQL server, broker and Keycloak (`token_for`:
    `phoi_local.testing.token_issuer`); each service's log goes to `logs`, and `extra_env` reaches every one.
    Shared by the `system_stack` fixture, the fault tests and the benchmarks."""
    import asyncio

    from phoi_contracts import topics
    from phoi_kit.kafka import ensure_topics, with_dead_letters

    from phoi_local.procutil import free_port

    prefix = f"p{uuid.uuid4().hex[:8]}."
    # asyncio.run, not a loop of our own: the browser harness sets Playwright's running loop aside for it.
    asyncio.run(ensure_topics(broker.bootstrap, [prefix + t for t in with_dead_letters(topics.ALL)]))
    ports = {name: free_port() for name in names}
    pki = TestPki()
    trust = pki.write_trust_folder(logs / "trust")
    urls = {f"PHOI_{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    started: dict[str, ServiceProcess] = {}
    try:
        for name in names:
            env = {
                **urls,
                "KAFKA_TOPIC_PREFIX": prefix,
                f"{name.upper()}_PORT": str(ports[name]),
                f"{name.upper()}_CONSUMER_GROUP_ID": f"{prefix}{name}",
                f"{name.upper()}_LOGIN_EVENTS_POLL_SECONDS": "1",
                "PORTAL_PUBLIC_URL": urls.get("PHOI_PORTAL_URL", ""),
                # a printed usage report waits for its export's audit entry: never give up early on a busy
                # machine, so the tests can insist the paper is sealed
                "PORTAL_RECORD_SEAL_WAIT_SECONDS": "60",
                # uploaded letters are verified against the stack's own test CA (the demo's setting: an
                # unsigned letter may still be submitted)
                "REQUESTS_SIGNATURE_TRUST_FOLDER": str(trust),
                **(extra_env or {}),
            }
            started[name] = start_service(
                name,
                pg_server=pg_server,
                broker=broker,
                keycloak_url=keycloak.base_url,
                log_dir=logs,
                extra_env=env,
                port=ports[name],
            )
        for service in started.values():
            service.wait_healthy()
        officer = token_for("qlcl_officer").headers
        admin = token_for("qlcl_admin").headers
        stack = Stack(started, keycloak, officer, admin, pki)
        _wait_for_catalogue(stack)
        yield stack
    finally:
        for service in started.values():
            service.stop()


def _wait_for_catalogue(stack: Stack) -> None:
    """Inventory's migrations seed the catalogue (THPT: prefix PT, 7 digits); requests learns it by events."""

    def replicated() -> bool:
        page = stack.api("requests", "GET", "/api/v1/form-types", stack.officer).json()
        return any(f["code"] == FORM_TYPE for f in page["items"])

    wait_until(replicated, timeout=30, what="form type replicated to requests")


def portal_client(stack: Stack, username: str, password: str, new_password: str | None = None) -> httpx.Client:
    """A signed-in browser without a browser: follows the portal → Keycloak → portal sign-in by hand
    (and Keycloak's update-password step with `new_password`, for a temporary password)."""
    return portal_sign_in(stack, username, password, new_password)[0]


def portal_sign_in(
    stack: Stack, username: str, password: str, new_password: str | None = None
) -> tuple[httpx.Client, httpx.Response]:
    """`portal_client`, and the portal's answer that signed it in (its Set-Cookie)."""
    from phoi_local.keycloak.testing import follow_within

    client = httpx.Client(base_url=stack.portal, follow_redirects=False, timeout=30)
    to_keycloak = client.get("/login")
    assert to_keycloak.status_code == 303, to_keycloak.text
    with httpx.Client(follow_redirects=False, timeout=30) as keycloak:
        login_page = keycloak.get(to_keycloak.headers["location"])
        # Keycloak answers a form post with a redirect to its next page (the required action, if any).
        signed = _post_form(keycloak, login_page, username=username, password=password)
        back = follow_within(keycloak, signed, stack.portal)
        if back.status_code == 200 and "password-new" in back.text and new_password:
            fields = {"password-new": new_password, "password-confirm": new_password}
            back = follow_within(keycloak, _post_form(keycloak, back, **fields), stack.portal)
    assert back.status_code in (302, 303), back.text
    done = client.get(back.headers["location"].removeprefix(stack.portal))
    assert done.status_code == 303, done.text
    assert "phoi_session" in client.cookies, done.text
    return client, done


def _post_form(client: httpx.Client, page: httpx.Response, **fields: str) -> httpx.Response:
    """Post `fields` to the first form on `page` (the identity provider's login or update-password page)."""
    import re

    action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert action, page.text
    return client.post(str(page.url.join(action.group(1).replace("&amp;", "&"))), data=fields)


def portal_request(client: httpx.Client, quantity: int, *, submit: bool = False, letter: bytes = PDF) -> str:
    """A request made through the portal's form, as a unit official makes it (with its letter: an unsigned
    PDF unless `letter` is one, e.g. `Stack.signed_letter()`), and submitted to QLCL when `submit`; returns
    its id. `client`: a unit account's `portal_client`."""
    import re

    form = client.get("/requests/new")
    assert form.status_code == 200, form.text
    data = {
        "csrf_token": csrf_of(form.text),
        "academic_year": "2025-2026",
        "exam_session": "Kỳ thi tốt nghiệp THPT năm 2026",
        "line-0-form_type": FORM_TYPE,
        "line-0-quantity": str(quantity),
        "line-0-justification": f"Dự kiến {quantity} học sinh tốt nghiệp",
    }
    saved = client.post(
        "/requests/new", data=data, files={"letter": ("cong-van-de-nghi.pdf", letter, "application/pdf")}
    )
    assert saved.status_code == 303, saved.text
    request_id = saved.headers["location"].partition("?")[0].rsplit("/", 1)[-1]
    if submit:
        detail = client.get(f"/requests/{request_id}")
        version = re.search(r'name="version" value="(\d+)"', detail.text)
        assert version, detail.text
        sent = client.post(
            f"/requests/{request_id}/submit", data={"csrf_token": csrf_of(detail.text), "version": version.group(1)}
        )
        assert sent.status_code == 303, sent.text
    return request_id


def csrf_of(html: str) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)
