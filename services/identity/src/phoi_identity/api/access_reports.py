"""/api/v1/access-reports — the public intake (Article 8.5) behind the login page's "Không truy cập
được phần mềm?": someone who cannot sign in reports it to QLCL.

No token is asked for. The report becomes an incident (``source: public``) that only QLCL
administrators and auditors see; it changes nothing else — not even an account it names, so that
nobody can lock an official out anonymously. Every caller gets the same answer, 202 with a reference
number, whether or not the name they gave exists. Reports are rate-limited per client address and in
all (429 ``rate_limited`` with ``Retry-After``).
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from phoi_kit.openapi import problem_responses

from phoi_identity.api.deps import ClientAddress, Ctx, PublicUoW, no_store
from phoi_identity.api.schemas import AccessReportAccepted, AccessReportIn
from phoi_identity.service import incidents as service

router = APIRouter(prefix="/access-reports", tags=["incidents"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Report that you cannot sign in, or that someone else uses your account (no sign-in)",
    responses=problem_responses(422, 429),
)
async def report_access_problem(
    body: AccessReportIn, uow: PublicUoW, ctx: Ctx, address: ClientAddress, response: Response
) -> AccessReportAccepted:
    incident = await service.report_public(
        uow,
        ctx.settings,
        service.PublicReport(
            kind=body.incident_kind,
            reporter=body.reporter,
            contact=body.contact,
            description=body.description,
            address=address,
        ),
    )
    no_store(response)
    assert incident.reference is not None  # always set on a public report
    return AccessReportAccepted(reference=incident.reference)
