"""Where attachment bytes live, behind one interface.

The Request aggregate only holds attachment *metadata* (`domain.Attachment`); the bytes go to an
`AttachmentStore`. Stores are called inside the request's unit of work:

* `DatabaseAttachmentStore` (the one in use) writes to `attachment_contents` in the same transaction
  as the metadata row, so a rolled-back upload leaves nothing behind.
* An object-storage store (S3) would `put` under the attachment id before the commit; an upload whose
  transaction then rolls back leaves an unreferenced object, which a sweeper deletes (an object is
  referenced iff a `request_attachments` row has its id). `delete` would be deferred to after commit
  for the same reason. Nothing else has to change: the service only speaks to this interface.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from phoi_requests.models import AttachmentContentRow
from phoi_requests.settings import Settings


class AttachmentStore(Protocol):
    async def put(self, attachment_id: uuid.UUID, content: bytes, *, content_type: str) -> None:
        """Store `content` under `attachment_id` (which is new: stores never overwrite)."""

    async def get(self, attachment_id: uuid.UUID) -> bytes | None:
        """The stored bytes, or None when nothing is stored under that id."""

    async def delete(self, attachment_id: uuid.UUID) -> None:
        """Forget the bytes (no error when there are none)."""


class DatabaseAttachmentStore:
    """Attachment bytes in PostgreSQL (`bytea`), in a table of their own so listings never read them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def put(self, attachment_id: uuid.UUID, content: bytes, *, content_type: str) -> None:
        self.session.add(AttachmentContentRow(attachment_id=attachment_id, content=content))
        await self.session.flush()

    async def get(self, attachment_id: uuid.UUID) -> bytes | None:
        result = await self.session.execute(
            select(AttachmentContentRow.content).where(AttachmentContentRow.attachment_id == attachment_id)
        )
        return result.scalar_one_or_none()

    async def delete(self, attachment_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(AttachmentContentRow)
            .where(AttachmentContentRow.attachment_id == attachment_id)
            .execution_options(synchronize_session=False)
        )


def attachment_store(settings: Settings, session: AsyncSession) -> AttachmentStore:
    """The store the settings name, bound to this unit of work's session."""
    if settings.attachment_store == "database":
        return DatabaseAttachmentStore(session)
    raise ValueError(f"unknown attachment store {settings.attachment_store!r}")  # pragma: no cover
