from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Unpack

from .._calls import ListCall, M, RequestOptions, Resource, list_operation
from ..types import AuditEvent, AuditEventType


def _time(t: str | datetime | None) -> str | None:
    return t.isoformat() if isinstance(t, datetime) else t


class Audit(Resource[M]):
    """/api/v1/audit-events: the organization's audit log."""

    @list_operation
    def list(
        self,
        /,
        *,
        type: Sequence[AuditEventType] | None = None,
        actor: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> ListCall[AuditEvent]:
        """listAuditEvents: a page of the current organization's security events, newest first (audit.read).

        ``since`` and ``until`` are RFC 3339 strings or timezone-aware datetimes."""
        query = {"type": list(type) if type else None, "actor": actor, "since": _time(since), "until": _time(until), "limit": limit, "cursor": cursor}
        return ListCall("listAuditEvents", options, query=query)
