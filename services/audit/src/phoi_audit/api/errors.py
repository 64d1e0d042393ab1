"""Domain errors → HTTP statuses, in one place, registered with the kit (``ServiceSpec(error_map=...)``).

===================  ======  ====================================================================
error                status  code
===================  ======  ====================================================================
RangeBeyondHead      422     range_beyond_head (with ``head_sequence``): verify from past the end
AuditDomainError     422     audit.invalid_entry, ...: a value the chain cannot take
===================  ======  ====================================================================
"""

from __future__ import annotations

from phoi_kit.errors import ErrorMap

from phoi_audit.domain import AuditDomainError

ERROR_MAP: ErrorMap = {AuditDomainError: 422}
