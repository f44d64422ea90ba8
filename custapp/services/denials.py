"""A refused operation is audited as "denied" (SPEC §1): in its own transaction, after the refused
work rolled back, so the refusal is on record while nothing of the work is.

db.session_scope calls the hook registered here for every error that ends a unit of work; the
services package registers it on import (custapp/services/__init__.py), so it is in place before
any PermissionDenied can be raised (that class lives in this package).
"""

from __future__ import annotations

from custapp import db
from custapp.services import audit
from custapp.services.errors import PermissionDenied


@db.after_rollback
def record_denial(exc: BaseException) -> None:
    if not isinstance(exc, PermissionDenied):
        return
    with db.session_scope() as session:
        audit.record(
            session,
            actor=exc.actor,
            action=exc.action,
            outcome="denied",
            target_type=exc.target_type,
            target_id=exc.target_id,
            customer_id=exc.customer_id,
            reason=exc.permission,
        )
