"""The one answer to "may we use this customer's data for this purpose?" (SPEC §4): `permits`,
its SQL twin `consenting` for lists, and the current notice they rest on.

Below consent.py (the ledger, which cancels and queues messages through the outbox) and
outbox.py (which asks `permits` when a message is queued and again when it is sent); consent.py
re-exports every name here, so callers keep writing `consent.permits`.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlmodel import Session

from custapp.models import ConsentState, Customer, PrivacyNotice, Purpose
from custapp.vocab import ConsentStatus, NoticeStatus, PurposeCode

# Purposes of the system itself, not of customer data (no Purpose row): always allowed.
SYSTEM_PURPOSES = frozenset({PurposeCode.SECURITY, PurposeCode.STAFF_ALERT})


def current_notice(session: Session) -> PrivacyNotice | None:
    """The highest published version of the privacy notice."""
    return session.exec(
        select(PrivacyNotice)
        .where(PrivacyNotice.status == NoticeStatus.PUBLISHED)
        .order_by(PrivacyNotice.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def notice_purposes(notice: PrivacyNotice | None) -> list[str]:
    return [code for code in (notice.purposes if notice else "").split(",") if code]


def permits(session: Session, *, customer_id: int | None, purpose: str) -> bool:
    """May this customer's data be used for this purpose now? The one answer (SPEC §4).

    - no customer (a staff message) or a purpose of the system itself: yes;
    - an unknown or disabled purpose: no (fail closed);
    - a purpose that does not rest on consent (service: the contract): yes;
    - otherwise only a granted state, for a purpose the current notice still names.
    """
    if customer_id is None or purpose in SYSTEM_PURPOSES:
        return True
    row = session.get(Purpose, purpose)
    if row is None or not row.enabled:
        return False
    if not row.consent_based:
        return True
    if purpose not in notice_purposes(current_notice(session)):
        return False
    state = session.get(ConsentState, (customer_id, purpose))
    return state is not None and state.state == ConsentStatus.GRANTED


def consenting(purpose: str):  # noqa: ANN201 (a SQL condition on Customer)
    """`permits` for a whole list, as a condition on customers (list builders, provision).
    The caller checks the purpose itself first with `purpose_usable`."""
    return exists().where(
        ConsentState.customer_id == Customer.id,
        ConsentState.purpose == purpose,
        ConsentState.state == ConsentStatus.GRANTED,
    )


def purpose_usable(session: Session, purpose: str) -> bool:
    """The purpose exists, is enabled and the current notice names it (consent-based or not)."""
    row = session.get(Purpose, purpose)
    return bool(row and row.enabled and purpose in notice_purposes(current_notice(session)))


def why_not(session: Session, *, customer_id: int, purpose: str) -> str:
    """Why `permits` says no, as an i18n key (refused, withdrawn, never asked, ...)."""
    if not purpose_usable(session, purpose):
        return "consent.why.purpose_unusable"
    state = session.get(ConsentState, (customer_id, purpose))
    if state is None:
        return "consent.why.not_asked"
    return f"consent.why.{state.state}"
