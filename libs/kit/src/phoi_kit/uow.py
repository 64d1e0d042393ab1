"""The unit of work: one session, one transaction, and the events it will publish.

Whatever a request or a consumed event changes, and the events that change raises, are committed
together: `commit()` writes the queued events as outbox rows in the same transaction as the change.
A rolled-back change therefore never publishes anything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from phoi_contracts.envelope import SYSTEM_ACTOR, Actor, Envelope, EventData
from sqlalchemy import column, insert, table
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_kit.logging import correlation_id_var

outbox_table = table(
    "outbox",
    column("event_id"),
    column("topic"),
    column("key"),
    column("type"),
    column("payload"),
    column("created_at"),
    column("published_at"),
    column("id"),
)


@dataclass
class UnitOfWork:
    session: AsyncSession
    source: str
    actor: Actor = SYSTEM_ACTOR
    correlation_id: str | None = None
    pending: list[tuple[str, Envelope]] = field(default_factory=list)

    def publish(
        self,
        event: EventData,
        *,
        subject: str | uuid.UUID | None = None,
        topic: str | None = None,
        actor: Actor | None = None,
        event_id: uuid.UUID | None = None,
        time: datetime | None = None,
    ) -> Envelope:
        """Queue `event` for the outbox; it is written when this unit of work commits.

        The subject (Kafka key) defaults to the event's aggregate id; the topic to the event's own, or
        for events any service may publish, to this service's topic. `actor`, `event_id` and `time`
        default to the unit of work's actor, a new id and now (a domain that fixes them passes them)."""
        envelope = Envelope.wrap(
            event,
            source=self.source,
            subject=None if subject is None else str(subject),
            actor=actor or self.actor,
            correlation_id=self.correlation_id or correlation_id_var.get(),
            event_id=event_id,
            time=time,
        )
        self.pending.append((topic or type(event).topic_for(self.source), envelope))
        return envelope

    async def flush_events(self) -> None:
        if not self.pending:
            return
        rows = [
            {
                "event_id": env.id,
                "topic": topic,
                "key": env.subject,
                "type": env.type,
                "payload": env.model_dump_json(),
            }
            for topic, env in self.pending
        ]
        await self.session.execute(insert(outbox_table), rows)
        self.pending.clear()

    async def commit(self) -> None:
        await self.flush_events()
        await self.session.commit()

    async def rollback(self) -> None:
        self.pending.clear()
        await self.session.rollback()
