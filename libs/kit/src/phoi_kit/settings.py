"""Settings from the environment.

Each service subclasses `ServiceSettings` with its own env prefix (``INVENTORY_DATABASE_URL``,
``INVENTORY_PORT``...). What the whole system shares — the broker, Keycloak, the token audience — is
read without a prefix (``KAFKA_BOOTSTRAP``, ``KEYCLOAK_URL``...), so one variable points every service
at the same part.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from phoi_kit.kafka import KafkaConnection


def _shared(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="PHOI_", populate_by_name=True)

    service_name: str = "service"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:55432/postgres"
    host: str = "127.0.0.1"
    port: int = 8000
    db_pool_size: int = 10

    kafka_bootstrap: str = Field("127.0.0.1:9092", validation_alias=_shared("KAFKA_BOOTSTRAP"))
    kafka_security_protocol: str = Field("PLAINTEXT", validation_alias=_shared("KAFKA_SECURITY_PROTOCOL"))
    kafka_sasl_mechanism: str | None = Field(None, validation_alias=_shared("KAFKA_SASL_MECHANISM"))
    kafka_sasl_username: str | None = Field(None, validation_alias=_shared("KAFKA_SASL_USERNAME"))
    kafka_sasl_password: str | None = Field(None, validation_alias=_shared("KAFKA_SASL_PASSWORD"))
    kafka_ssl_cafile: str | None = Field(None, validation_alias=_shared("KAFKA_SSL_CAFILE"))
    keycloak_url: str = Field("http://127.0.0.1:8080", validation_alias=_shared("KEYCLOAK_URL"))
    keycloak_realm: str = Field("phoi", validation_alias=_shared("KEYCLOAK_REALM"))
    # The issuer printed in tokens. Differs from KEYCLOAK_URL when services reach Keycloak by an
    # in-cluster address while browsers use the public one.
    token_issuer: str | None = Field(None, validation_alias=_shared("TOKEN_ISSUER"))
    token_audience: str = Field("phoi-api", validation_alias=_shared("TOKEN_AUDIENCE"))

    log_level: str = Field("INFO", validation_alias=_shared("LOG_LEVEL"))
    log_json: bool = Field(True, validation_alias=_shared("LOG_JSON"))

    outbox_batch_size: int = 500
    outbox_poll_seconds: float = 5.0
    outbox_retention_days: int = 30
    consumer_max_attempts: int = 3
    consumer_session_timeout_ms: int = 10_000
    consumer_heartbeat_interval_ms: int = 3_000
    consumer_fetch_max_wait_ms: int = 100
    consumer_group_id: str | None = None  # default: phoi-<service>
    # Refused calls (`phoi_kit.refusals`): a caller's first `access_denied_burst` refusals in each window
    # are published one by one, the rest counted into one summary when the window closes.
    access_denied_burst: int = Field(10, ge=0)
    access_denied_window_seconds: int = Field(60, ge=1, le=86_400)
    access_denied_sweep_seconds: float = Field(5.0, gt=0)
    # Prepended to every topic name on the wire. Empty in production; tests use it to get a private
    # set of topics on a shared broker.
    topic_prefix: str = Field("", validation_alias=_shared("KAFKA_TOPIC_PREFIX"))

    @property
    def kafka(self) -> KafkaConnection:
        return KafkaConnection(
            bootstrap=self.kafka_bootstrap,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=self.kafka_sasl_password,
            ssl_cafile=self.kafka_ssl_cafile,
        )

    @property
    def issuer(self) -> str:
        return self.token_issuer or f"{self.keycloak_url.rstrip('/')}/realms/{self.keycloak_realm}"

    @property
    def jwks_url(self) -> str:
        return f"{self.keycloak_url.rstrip('/')}/realms/{self.keycloak_realm}/protocol/openid-connect/certs"

    @property
    def consumer_group(self) -> str:
        return self.consumer_group_id or f"phoi-{self.service_name}"
