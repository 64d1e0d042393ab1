"""The requests API: thin routes over `service.requests.RequestService`.

Reads: a unit account sees its own unit's requests only (another unit's request is 404, as if it did
not exist); QLCL officers, QLCL administrators and auditors read everything. Changes: the domain says
who may do what (unit: create, edit, attach, submit, cancel, confirm receipt; officer: approve, reject,
return, close); every change takes ``If-Match`` (428 without, 412 when stale) and answers with the new
``ETag``. The workflow's steps are the rows of ``api/actions.py``, each registered here as its own
operation.
"""

from __future__ import annotations

import inspect
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from phoi_kit.app import UoW
from phoi_kit.errors import PayloadTooLarge, Unprocessable
from phoi_kit.openapi import problem_responses
from phoi_kit.pagination import decode_cursor, encode_cursor
from phoi_kit.params import IsoDate
from phoi_kit.versioning import IfMatchRequiredByService, set_etag
from phoi_kit.vietnam import vietnam_day_end, vietnam_day_start
from starlette.datastructures import UploadFile

from phoi_requests.adapters.attachments import attachment_store
from phoi_requests.adapters.replicas import FormTypeReplica
from phoi_requests.adapters.requests import RequestFilter
from phoi_requests.api.actions import WORKFLOW, WorkflowStep
from phoi_requests.api.deps import (
    AppSettings,
    CurrentActor,
    parse_request_cursor,
    request_cursor,
)
from phoi_requests.api.schemas import (
    AttachmentList,
    AttachmentOut,
    CountsOut,
    FormTypeOut,
    FormTypePage,
    HistoryEntryOut,
    HistoryOut,
    RequestCreate,
    RequestOut,
    RequestPage,
    RequestPatch,
    RequestSummaryOut,
)
from phoi_requests.domain import Actor, Status
from phoi_requests.domain import Request as DomainRequest
from phoi_requests.service.requests import RequestService
from phoi_requests.service.uploads import ALLOWED_TYPES, content_disposition

router = APIRouter(prefix="/api/v1")

# Room for the multipart framing around the file itself.
MULTIPART_OVERHEAD = 64 * 1024

_NOTES = {
    403: "Your role may not do this (`role_required`, `request.forbidden`).",
    404: "No such request — or it belongs to another unit (`request.not_found`).",
    409: "Not allowed in the current state (`request.illegal_transition`, with `current_state`), or the unit is "
    "deactivated (`request.unit_inactive`).",
    412: "If-Match is not the current version (`version_mismatch`).",
    413: "Too large (`request.attachment_too_large`).",
    415: "Not a PDF/JPEG/PNG by content (`request.attachment_type_unsupported`), or not what its declared type "
    "says (`request.attachment_type_mismatch`).",
    422: "Invalid input (`validation_failed` or a domain code such as `request.invalid_quantity`).",
}
_PROBLEMS = problem_responses(403, 404, 422, notes=_NOTES)
_CHANGE_PROBLEMS = problem_responses(403, 404, 409, 412, 422, 428, notes=_NOTES)
_LIST_PROBLEMS = problem_responses(400, 403, 422, notes=_NOTES)


def _service(uow: UoW, settings: AppSettings, request: Request) -> RequestService:
    return RequestService(
        uow,
        attachment_store(settings, uow.session),
        verifier=request.app.state.signature_verifier,
        require_signed_letter=settings.require_signed_letter,
    )


Service = Annotated[RequestService, Depends(_service)]


def _respond(response: Response, request: DomainRequest, actor: Actor) -> RequestOut:
    set_etag(response, request.version)
    return RequestOut.of(request, actor)


# --- form types (the replica, for the portal's dropdowns) ----------------------------------------------


@router.get(
    "/form-types",
    tags=["form types"],
    summary="Form types (replica of inventory's catalogue)",
    description="The fields have the names of inventory's `GET /api/v1/form-types` (`id`, `name_vi`, "
    "`name_en`, `digits`...), filled from its form-type events; `name_en` and `digits` are null for a form "
    "type whose last event predates them.",
    responses=_LIST_PROBLEMS,
)
async def list_form_types(
    actor: CurrentActor,
    uow: UoW,
    include_inactive: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> FormTypePage:
    after = decode_cursor(cursor, 1)[0] if cursor else None
    items = await FormTypeReplica(uow.session).page(
        include_inactive=include_inactive, limit=limit + 1, after_code=after
    )
    more = len(items) > limit
    items = items[:limit]
    return FormTypePage(
        items=[FormTypeOut.of(f) for f in items],
        next_cursor=encode_cursor(items[-1].code) if more else None,
    )


# --- requests: reads -----------------------------------------------------------------------------------


def _filter(
    unit_code: str | None,
    status: list[Status] | None,
    form_type: str | None,
    academic_year: str | None,
    created_from: date | None,
    created_to: date | None,
) -> RequestFilter:
    if created_from and created_to and created_from > created_to:
        raise Unprocessable("created_from is after created_to.", code="invalid_date_range")
    return RequestFilter(
        unit_code=unit_code,
        statuses=frozenset(status) if status else None,
        form_type_code=form_type,
        academic_year=academic_year,
        created_from=vietnam_day_start(created_from) if created_from else None,
        created_before=vietnam_day_end(created_to) if created_to else None,
    )


@router.get("/requests", tags=["requests"], summary="List requests", responses=_LIST_PROBLEMS)
async def list_requests(
    actor: CurrentActor,
    service: Service,
    status: Annotated[list[Status] | None, Query(description="Repeat for several.")] = None,
    unit_code: str | None = None,
    form_type: Annotated[str | None, Query(description="Requests with a line of this form type.")] = None,
    academic_year: str | None = None,
    created_from: Annotated[IsoDate | None, Query(description="Created on or after (Vietnam date).")] = None,
    created_to: Annotated[IsoDate | None, Query(description="Created on or before (Vietnam date).")] = None,
    waiting_for: Annotated[
        Literal["me"] | None, Query(description="`me`: requests waiting for the caller's next step.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    order: Annotated[
        Literal["newest", "oldest"],
        Query(description="`newest` first (the default) or `oldest` first, as a review queue is worked through."),
    ] = "newest",
) -> RequestPage:
    """Newest first unless `order=oldest`. Unit accounts see their own unit's requests only."""
    where = _filter(unit_code, status, form_type, academic_year, created_from, created_to)
    items = await service.page(
        actor,
        where,
        waiting_for_me=waiting_for == "me",
        limit=limit + 1,
        after=parse_request_cursor(cursor),
        oldest_first=order == "oldest",
    )
    more = len(items) > limit
    items = items[:limit]
    return RequestPage(
        items=[RequestSummaryOut.of(s) for s in items],
        next_cursor=request_cursor(items[-1].created_at, items[-1].id) if more else None,
    )


@router.get("/requests/counts", tags=["requests"], summary="Requests per status (dashboards)", responses=_PROBLEMS)
async def count_requests(
    actor: CurrentActor,
    service: Service,
    unit_code: str | None = None,
    form_type: str | None = None,
    academic_year: str | None = None,
    created_from: IsoDate | None = None,
    created_to: IsoDate | None = None,
) -> CountsOut:
    where = _filter(unit_code, None, form_type, academic_year, created_from, created_to)
    counts, waiting = await service.counts(actor, where)
    return CountsOut(counts=counts, total=sum(counts.values()), waiting_for_me=waiting)


@router.get("/requests/{request_id}", tags=["requests"], summary="One request", responses=_PROBLEMS)
async def get_request(request_id: uuid.UUID, actor: CurrentActor, service: Service, response: Response) -> RequestOut:
    return _respond(response, await service.get(actor, request_id), actor)


@router.get(
    "/requests/{request_id}/history",
    tags=["requests"],
    summary="Status changes: who, when, why",
    responses=_PROBLEMS,
)
async def get_history(request_id: uuid.UUID, actor: CurrentActor, service: Service, response: Response) -> HistoryOut:
    request = await service.get(actor, request_id)
    set_etag(response, request.version)
    return HistoryOut(items=[HistoryEntryOut.of(h) for h in request.history])


# --- requests: the unit drafts -------------------------------------------------------------------------


@router.post(
    "/requests", tags=["requests"], status_code=201, summary="Draft a request (unit accounts)", responses=_PROBLEMS
)
async def create_request(body: RequestCreate, actor: CurrentActor, service: Service, response: Response) -> RequestOut:
    request = await service.create(
        actor,
        academic_year=body.academic_year,
        lines=[line.to_domain() for line in body.lines],
        exam_session=body.exam_session,
        justification=body.justification,
        comment=body.comment,
    )
    response.headers["Location"] = f"/api/v1/requests/{request.id}"
    return _respond(response, request, actor)


@router.patch(
    "/requests/{request_id}", tags=["requests"], summary="Edit a draft or returned request", responses=_CHANGE_PROBLEMS
)
async def patch_request(
    request_id: uuid.UUID,
    body: RequestPatch,
    actor: CurrentActor,
    service: Service,
    response: Response,
    if_match: IfMatchRequiredByService,
) -> RequestOut:
    request = await service.update(
        actor,
        request_id,
        if_match,
        lines=None if body.lines is None else [line.to_domain() for line in body.lines],
        academic_year=body.academic_year,
        exam_session=body.cleared_or("exam_session"),
        justification=body.cleared_or("justification"),
        comment=body.comment,
    )
    return _respond(response, request, actor)


# --- requests: the workflow's steps, one operation per row of `api/actions.py` ----------------------------


def _workflow_operation(step: WorkflowStep) -> None:
    """Register ``POST /requests/{request_id}/<segment>`` for one step, with its own body and documentation."""

    async def operation(
        request_id: uuid.UUID,
        actor: CurrentActor,
        service: Service,
        response: Response,
        if_match: IfMatchRequiredByService,
        body: Any = None,
    ) -> RequestOut:
        arguments = (body or step.body()).arguments()
        request = await service.act(
            actor,
            request_id,
            step.action,
            if_match,
            lambda r: step.command(r, actor, expected_version=if_match, **arguments),
        )
        return _respond(response, request, actor)

    # FastAPI reads the body's model from the signature: give this step's model (optional, as no body).
    signature = inspect.signature(operation, eval_str=True)
    parameters = [
        p.replace(annotation=step.body | None) if p.name == "body" else p for p in signature.parameters.values()
    ]
    operation.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    operation.__name__ = operation.__qualname__ = step.operation
    router.add_api_route(
        f"/requests/{{request_id}}/{step.segment}",
        operation,
        methods=["POST"],
        name=step.operation,
        tags=["workflow"],
        summary=step.summary,
        description=step.description,
        responses=problem_responses(*step.problems, notes=_NOTES),
    )


for _step in WORKFLOW:
    _workflow_operation(_step)


# --- attachments ---------------------------------------------------------------------------------------

_UPLOAD_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "additionalProperties": False,
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": f"The signed request letter: {', '.join(ALLOWED_TYPES)}.",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "/requests/{request_id}/attachments",
    tags=["attachments"],
    status_code=201,
    summary="Attach a file (unit; PDF, JPEG or PNG, checked by content)",
    openapi_extra=_UPLOAD_OPENAPI,
    responses={**_CHANGE_PROBLEMS, **problem_responses(413, 415, notes=_NOTES)},
)
async def upload_attachment(
    request_id: uuid.UUID,
    request: Request,
    actor: CurrentActor,
    service: Service,
    settings: AppSettings,
    response: Response,
    if_match: IfMatchRequiredByService,
) -> AttachmentOut:
    limit = settings.attachment_max_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(
            f"An attachment may be at most {limit} bytes.", code="request.attachment_too_large", limit_bytes=limit
        )
    form = await request.form(max_files=1, max_fields=2)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Unprocessable(
                "Send the file as multipart/form-data in a field named 'file'.",
                code="validation_failed",
                errors=[{"loc": ["body", "file"], "msg": "Field required", "type": "missing"}],
            )
        content = await upload.read(limit + 1)
        filename, declared_type = upload.filename, upload.content_type
    finally:
        await form.close()
    saved, attachment = await service.add_attachment(
        actor,
        request_id,
        if_match,
        content=content,
        filename=filename,
        declared_type=declared_type,
        limit=limit,
    )
    set_etag(response, saved.version)
    out = AttachmentOut.of(saved.id, attachment)
    response.headers["Location"] = out.download_url
    return out


@router.get(
    "/requests/{request_id}/attachments",
    tags=["attachments"],
    summary="Attachments of a request",
    responses=_PROBLEMS,
)
async def list_attachments(
    request_id: uuid.UUID, actor: CurrentActor, service: Service, response: Response
) -> AttachmentList:
    request = await service.get(actor, request_id)
    set_etag(response, request.version)
    return AttachmentList(items=[AttachmentOut.of(request.id, a) for a in request.attachments])


@router.get(
    "/requests/{request_id}/attachments/{attachment_id}",
    tags=["attachments"],
    summary="Download an attachment",
    response_class=Response,
    responses={200: {"content": {t: {} for t in ALLOWED_TYPES}}, **_PROBLEMS},
)
async def download_attachment(
    request_id: uuid.UUID, attachment_id: uuid.UUID, actor: CurrentActor, service: Service
) -> Response:
    attachment, content = await service.attachment(actor, request_id, attachment_id)
    return Response(
        content,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": content_disposition(attachment.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.delete(
    "/requests/{request_id}/attachments/{attachment_id}",
    tags=["attachments"],
    status_code=204,
    summary="Remove an attachment (unit, while the request is editable)",
    responses=_CHANGE_PROBLEMS,
)
async def delete_attachment(
    request_id: uuid.UUID,
    attachment_id: uuid.UUID,
    actor: CurrentActor,
    service: Service,
    if_match: IfMatchRequiredByService,
) -> Response:
    saved = await service.remove_attachment(actor, request_id, if_match, attachment_id)
    return Response(status_code=204, headers={"ETag": f'"{saved.version}"'})
