"""Checking the audit chain on demand, and the alert when it is broken (SPEC §8).

Above both audit.py (the chain and its verification) and outbox.py (which writes audit entries
for the messages it queues): the alert goes out through the outbox.
"""

from __future__ import annotations

from sqlmodel import Session

from custapp.security.permissions import AUDITOR, COMPLIANCE
from custapp.services import outbox
from custapp.services.actor import Actor
from custapp.services.audit import VerifyResult, record, verify_chain
from custapp.services.guard import requires


def alert_failure(session: Session, result: VerifyResult) -> int:
    """A failed verify reaches every active compliance officer and auditor (in-app, once each,
    in their own language, naming the row); how many were alerted."""
    holders = {
        user.id: user
        for role in (COMPLIANCE, AUDITOR)
        for user in outbox.role_holders(session, role=role, store_ids=[None])[None]
    }
    return outbox.alert_users(
        session,
        holders.values(),
        subject_key="alert.audit_chain.subject",
        body_key=result.problem or "audit.verify.altered_row",
        params={"seq": result.bad_seq},
    )


@requires("audit.read")
def check_chain(session: Session, *, actor: Actor) -> VerifyResult:
    """The auditor's "verify" button: the same check as `custapp audit verify`, audited."""
    result = verify_chain(session)
    record(session, actor=actor, action="audit.verify", outcome="ok" if result.ok else "failed")
    if not result.ok:
        alert_failure(session, result)
    return result
