"""Run the Keycloak stand-in as a subprocess (or in a thread) for tests and the launcher.

    with StandinProcess() as kc:          # free port, temporary state directory
        kc.base_url                       # http://127.0.0.1:<port>
        kc.issuer                         # http://127.0.0.1:<port>/realms/phoi
        kc.restart()                      # same state directory: accounts, sessions, keys survive
        kc.rotate_keys(grace_seconds=60)  # new signing key; the old one stays in the JWKS

Readiness is detected by polling the discovery document until a deadline; nothing sleeps for a
fixed time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import httpx
import uvicorn

from phoi_local.procutil import free_port

from .app import HOOK_HEADER, create_app
from .core import HOOK_SECRET_FILE
from .settings import DEFAULT_REALM_FILE, DEFAULT_SEED_FILE, StandinSettings, discovery_url, issuer_url

LOG_FILE = "standin.log"


class StandinStartError(RuntimeError):
    """The stand-in did not answer before the deadline (or exited); carries the log's tail."""


def wait_until_ready(
    base_url: str,
    timeout: float = 30.0,
    realm: str = "phoi",
    alive: Any = None,
    interval: float = 0.05,
) -> None:
    """Poll the realm's discovery document until it answers 200 or ``timeout`` seconds pass.

    ``alive`` (optional callable) is asked between attempts; when it returns False, give up early.
    """
    deadline = time.monotonic() + timeout
    url = discovery_url(base_url, realm)
    last_error = "no answer"
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if alive is not None and not alive():
                raise StandinStartError(f"stand-in exited before answering {url}")
            try:
                if client.get(url).status_code == 200:
                    return
                last_error = "non-200 answer"
            except httpx.HTTPError as exc:
                last_error = repr(exc)
            time.sleep(interval)  # polling interval, not synchronisation
    raise StandinStartError(f"stand-in did not answer {url} within {timeout}s ({last_error})")


class StandinProcess:
    """The stand-in in a child process (``python -m phoi_local.keycloak``).

    ``state_dir=None`` makes a temporary directory that :meth:`close` removes; a given directory is
    left in place. ``env`` adds to (not replaces) the current environment, e.g.
    ``{"PHOI_DEMO_PASSWORD": ...}``.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        state_dir: Path | None = None,
        realm_file: Path = DEFAULT_REALM_FILE,
        seed_file: Path | None = DEFAULT_SEED_FILE,
        public_url: str | None = None,
        key_grace_seconds: int | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 30.0,
        python: str = sys.executable,
    ) -> None:
        self.host = host
        self.port = port if port is not None else free_port(host)
        self._own_state_dir = state_dir is None
        self.state_dir = Path(tempfile.mkdtemp(prefix="kc-standin-")) if state_dir is None else Path(state_dir)
        self.realm_file = realm_file
        self.seed_file = seed_file
        self.public_url = public_url
        self.key_grace_seconds = key_grace_seconds
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.python = python
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # -- addresses -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def server_url(self) -> str:
        """``base_url`` with a trailing slash, as python-keycloak's ``server_url`` wants it."""
        return self.base_url + "/"

    @property
    def issuer(self) -> str:
        return issuer_url(self.public_url or self.base_url)

    @property
    def log_path(self) -> Path:
        return self.state_dir / LOG_FILE

    def command(self) -> list[str]:
        cmd = [
            self.python,
            "-m",
            "phoi_local.keycloak",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--realm-file",
            str(self.realm_file),
            "--seed",
            str(self.seed_file) if self.seed_file is not None else "none",
            "--state-dir",
            str(self.state_dir),
        ]
        if self.public_url:
            cmd += ["--public-url", self.public_url]
        if self.key_grace_seconds is not None:
            cmd += ["--key-grace-seconds", str(self.key_grace_seconds)]
        return cmd

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Self:
        if self.running:
            return self
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            self.command(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env},
        )
        try:
            wait_until_ready(self.base_url, self.startup_timeout, alive=lambda: self.running)
        except StandinStartError as exc:
            self.stop()
            raise StandinStartError(f"{exc}\n--- {self.log_path} (tail) ---\n{self.log_tail()}") from None
        return self

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> Self:
        """Stop and start again on the same port with the same state directory."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop, and remove the state directory if this object created it."""
        self.stop()
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- stand-in-only hooks ---------------------------------------------------------------------
    def hook_secret(self) -> str:
        return (self.state_dir / HOOK_SECRET_FILE).read_text(encoding="ascii").strip()

    def rotate_keys(self, grace_seconds: float | None = None) -> str:
        """Rotate the signing key of the running stand-in; returns the new ``kid``."""
        return rotate_keys(self.base_url, self.hook_secret(), grace_seconds)


def rotate_keys(base_url: str, hook_secret: str, grace_seconds: float | None = None) -> str:
    """Call the stand-in's key-rotation hook (``POST /standin/keys/rotate``)."""
    params = {"grace_seconds": str(grace_seconds)} if grace_seconds is not None else {}
    with httpx.Client(timeout=10.0, trust_env=False) as client:
        response = client.post(
            f"{base_url.rstrip('/')}/standin/keys/rotate", params=params, headers={HOOK_HEADER: hook_secret}
        )
    response.raise_for_status()
    return str(response.json()["kid"])


class StandinThread:
    """The stand-in served by uvicorn in a background thread of this process.

    Handy when a test wants a real HTTP endpoint (python-keycloak uses ``requests``) *and* access
    to the engine (``.app.state.standin``) or a fake ``clock``.
    """

    def __init__(
        self,
        settings: StandinSettings,
        *,
        port: int | None = None,
        clock: Any = None,
        startup_timeout: float = 30.0,
    ) -> None:
        """``port=None`` picks a free port (``settings.port`` is not used)."""
        port = port if port is not None else free_port(settings.host)
        self.settings = settings
        self.host = settings.host
        self.port = port
        self.app = create_app(settings, clock)
        config = uvicorn.Config(self.app, host=self.host, port=port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="keycloak-standin", daemon=True)
        self.startup_timeout = startup_timeout

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def server_url(self) -> str:
        return self.base_url + "/"

    @property
    def issuer(self) -> str:
        return issuer_url(self.settings.public_url or self.base_url)

    def start(self) -> Self:
        self._thread.start()
        wait_until_ready(self.base_url, self.startup_timeout, alive=self._thread.is_alive)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
