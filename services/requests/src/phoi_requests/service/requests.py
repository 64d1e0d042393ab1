"""The request workflow's application service: load, check, call the domain, save, publish.

Every change to an existing request refuses in one order, whatever the action: not visible to the caller
(404) → the caller's role can never do this (403) → no ``If-Match`` (428) → stale version (412) → not
allowed in the current state (409) → the unit is deactivated (409) → bad input (422 / 413 / 415).
(Creating: role (403) → input (422) → unit deactivated (409) → form types (422).) The root row is
locked (``SELECT ... FOR UPDATE``) for the rest of the transaction, so two officers deciding at once
queue up and the second one gets 412; the save's ``WHERE version = :loaded`` guards the same thing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from phoi_kit.errors import NotFound
from phoi_kit.logging import get_logger
from phoi_kit.uow import UnitOfWork

from phoi_requests.adapters.attachments import AttachmentStore
from phoi_requests.adapters.replicas import FormTypeReplica, UnitReplica
from phoi_requests.adapters.requests import RequestFilter, RequestRepository, RequestSummary
from phoi_requests.adapters.signatures import SignatureVerifier
from phoi_requests.domain import (
    WAITING_ON,
    Action,
    Actor,
    Attachment,
    FormTypeInactive,
    LetterCheck,
    LineInput,
    Party,
    Request,
    RequestLine,
    RequestNotFound,
    Role,
    SignatureResult,
    Status,
    UnitInactive,
    UnknownAttachment,
    UnknownFormType,
    check_signed_letter,
)
from phoi_requests.service import events
from phoi_requests.service.uploads import check_upload

# What a deactivated unit may no longer do. Cancelling and confirming receipt stay possible: withdrawing
# a request is harmless, and blanks that physically arrived must be recorded.
log = get_logger(__name__)

BLOCKED_WHEN_UNIT_INACTIVE = frozenset({Action.CREATE, Action.EDIT, Action.SUBMIT})


def waiting_statuses(actor: Actor) -> frozenset[Status]:
    """The statuses in which a request waits for this actor ("requests waiting for me")."""
    if actor.role is Role.UNIT_ACCOUNT:
        return WAITING_ON[Party.OWNER_UNIT]
    if actor.role is Role.QLCL_OFFICER:
        return WAITING_ON[Party.QLCL_OFFICER]
    return frozenset()


def scoped(actor: Actor, where: RequestFilter) -> RequestFilter | None:
    """The filter restricted to what the actor may see; None when that is nothing at all."""
    if actor.role is Role.UNIT_ACCOUNT:
        if where.unit_code is not None and where.unit_code != actor.unit_code:
            return None
        return replace(where, unit_code=actor.unit_code)
    return where


class RequestService:
    def __init__(
        self,
        uow: UnitOfWork,
        store: AttachmentStore,
        *,
        verifier: SignatureVerifier | None = None,
        require_signed_letter: bool = False,
    ) -> None:
        self.uow = uow
        self.repo = RequestRepository(uow.session)
        self.form_types = FormTypeReplica(uow.session)
        self.units = UnitReplica(uow.session)
        self.store = store
        self.verifier = verifier or SignatureVerifier()
        self.require_signed_letter = require_signed_letter

    # --- reads ----------------------------------------------------------------------------------------

    async def get(self, actor: Actor, request_id: uuid.UUID) -> Request:
        request = await self.repo.get(request_id)
        if request is None or not request.is_visible_to(actor):
            raise RequestNotFound(request_id)
        return request

    async def page(
        self,
        actor: Actor,
        where: RequestFilter,
        *,
        waiting_for_me: bool,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
        oldest_first: bool = False,
    ) -> list[RequestSummary]:
        effective = scoped(actor, where)
        if effective is None:
            return []
        if waiting_for_me:
            mine = waiting_statuses(actor)
            statuses = mine if effective.statuses is None else mine & effective.statuses
            if not statuses:
                return []
            effective = replace(effective, statuses=statuses)
        return await self.repo.page(effective, limit=limit, after=after, oldest_first=oldest_first)

    async def counts(self, actor: Actor, where: RequestFilter) -> tuple[dict[Status, int], int]:
        """Requests per status, and how many of them wait for the actor."""
        effective = scoped(actor, where)
        if effective is None:
            return dict.fromkeys(Status, 0), 0
        counts = await self.repo.count_by_status(effective)
        return counts, sum(counts[s] for s in waiting_statuses(actor))

    async def attachment(
        self, actor: Actor, request_id: uuid.UUID, attachment_id: uuid.UUID
    ) -> tuple[Attachment, bytes]:
        request = await self.get(actor, request_id)
        for attachment in request.attachments:
            if attachment.id == attachment_id:
                content = await self.store.get(attachment_id)
                if content is None:  # metadata without bytes: the store lost it
                    raise RuntimeError(f"attachment {attachment_id} has no stored content")
                return attachment, content
        raise NotFound("No such attachment.", code=UnknownAttachment.code, attachment_id=str(attachment_id))

    # --- the unit drafts ------------------------------------------------------------------------------

    async def create(
        self,
        actor: Actor,
        *,
        academic_year: str,
        lines: Sequence[LineInput],
        exam_session: str | None,
        justification: str | None,
        comment: str | None = None,
    ) -> Request:
        request = Request.create(
            actor,
            unit_code=actor.unit_code or "",
            academic_year=academic_year,
            lines=lines,
            exam_session=exam_session,
            justification=justification,
            comment=comment,
        )
        await self._ensure_unit_active(request.unit_code)
        await self._ensure_form_types(request.lines)
        await self.repo.add(request)
        events.publish(self.uow, request.pull_events())
        return request

    async def update(
        self,
        actor: Actor,
        request_id: uuid.UUID,
        expected_version: int | None,
        *,
        lines: Sequence[LineInput] | None,
        academic_year: str | None,
        exam_session: str | None,
        justification: str | None,
        comment: str | None,
    ) -> Request:
        def command(r: Request) -> None:
            r.update(
                actor,
                lines=lines,
                academic_year=academic_year,
                exam_session=exam_session,
                justification=justification,
                comment=comment,
                expected_version=expected_version,
            )

        return await self.act(actor, request_id, Action.EDIT, expected_version, command, new_lines=lines is not None)

    async def add_attachment(
        self,
        actor: Actor,
        request_id: uuid.UUID,
        expected_version: int | None,
        *,
        content: bytes,
        filename: str | None,
        declared_type: str | None,
        limit: int,
    ) -> tuple[Request, Attachment]:
        added: list[Attachment] = []
        signature = await self._verify(actor, request_id, expected_version, content, limit)

        def command(r: Request) -> None:
            checked = check_upload(content, filename=filename, declared_type=declared_type, limit=limit)
            attachment = Attachment(
                id=uuid.uuid4(),
                filename=checked.filename,
                content_type=checked.kind.mime,
                size_bytes=checked.size_bytes,
                sha256=checked.sha256,
                signature=signature,
            )
            r.add_attachment(actor, attachment, expected_version=expected_version)
            added.append(attachment)

        request = await self.act(actor, request_id, Action.EDIT, expected_version, command)
        await self.store.put(added[0].id, content, content_type=added[0].content_type)
        return request, added[0]

    async def remove_attachment(
        self, actor: Actor, request_id: uuid.UUID, expected_version: int | None, attachment_id: uuid.UUID
    ) -> Request:
        def command(r: Request) -> None:
            r.remove_attachment(actor, attachment_id, expected_version=expected_version)

        request = await self.act(actor, request_id, Action.EDIT, expected_version, command)
        await self.store.delete(attachment_id)
        return request

    # --- one road for every change: the workflow's steps (submit, approve, ...) and the edits above ----

    async def act(
        self,
        actor: Actor,
        request_id: uuid.UUID,
        action: Action,
        expected_version: int | None,
        command: Callable[[Request], object],
        *,
        new_lines: bool = False,
    ) -> Request:
        """Change one request: ``command`` is the domain command for ``action`` (for the workflow's steps,
        a row of ``api/actions.py``). The lines' form types must still be issued when the change sets
        ``new_lines`` or submits (a form type may have been withdrawn since the draft was written)."""
        request = await self.repo.get(request_id, for_update=True)
        if request is None:
            raise RequestNotFound(request_id)
        # The domain's one permission check (404, 403, 428, 412, 409), before the unit's status and the input.
        request.authorise(actor, action, expected_version, version_required=True)
        if action in BLOCKED_WHEN_UNIT_INACTIVE:
            await self._ensure_unit_active(request.unit_code)
        loaded = request.version
        command(request)
        if new_lines or action is Action.SUBMIT:
            await self._ensure_form_types(request.lines)
        if action is Action.SUBMIT and self.require_signed_letter:
            check_signed_letter(request.attachments)
        if request.version != loaded:
            await self.repo.save(request, loaded_version=loaded)
            events.publish(self.uow, request.pull_events())
        return request

    # --- internals ------------------------------------------------------------------------------------

    async def _verify(
        self, actor: Actor, request_id: uuid.UUID, expected_version: int | None, content: bytes, limit: int
    ) -> LetterCheck:
        """Verify the upload's digital signatures, in a worker thread (CPU work, tens of milliseconds for a
        letter), before the request is locked, but only for a caller who may attach to it now: the
        permission checks run first, without the lock, and again under it in ``act``."""
        request = await self.repo.get(request_id)
        if request is None:
            raise RequestNotFound(request_id)
        request.authorise(actor, Action.EDIT, expected_version, version_required=True)
        if not content or len(content) > limit:  # check_upload refuses it under the lock
            return LetterCheck(SignatureResult.UNSIGNED)
        check, seconds = await self.verifier.verify_off_loop(content)
        log.info(
            "letter verified",
            request_id=str(request_id),
            signature_result=check.result.value,
            signatures=len(check.signatures),
            seconds=round(seconds, 4),
        )
        return check

    async def _ensure_unit_active(self, unit_code: str) -> None:
        if await self.units.is_deactivated(unit_code):
            raise UnitInactive(unit_code)

    async def _ensure_form_types(self, lines: Iterable[RequestLine]) -> None:
        lines = list(lines)
        known = await self.form_types.by_codes(line.form_type_code for line in lines)
        for index, line in enumerate(lines):
            form_type = known.get(line.form_type_code)
            field = f"lines[{index}].form_type_code"
            if form_type is None:
                raise UnknownFormType(f"there is no form type {line.form_type_code}", field=field)
            if not form_type.active:
                raise FormTypeInactive(f"form type {line.form_type_code} is no longer issued", field=field)
