"""Messages to a customer about their rights request (issue 16, ER): the refusal of a deletion
with its legal reason, and the notice that their data is about to be deleted.

Sent through the outbox under the service purpose (the law requires telling them: PIPL art. 50),
to the mobile on file, else a second mobile, else the e-mail address; encrypted under the customer's data key, so the
deletion notice must be delivered before the destruction shreds that key.
"""

from __future__ import annotations

from sqlmodel import Session

from custapp.i18n import t
from custapp.models import Customer
from custapp.services import customer_fields, outbox
from custapp.services.errors import DomainError
from custapp.vocab import MessageChannel, PurposeCode

# customers are told in Chinese: the archive holds no language of the customer
LOCALE = "zh_CN"


# where a customer is reached, in order: the mobile, the second number (when it is a mobile: a
# landline takes no SMS), the e-mail address
ADDRESSES = (
    ("phone", MessageChannel.SMS),
    ("phone2", MessageChannel.SMS),
    ("email", MessageChannel.EMAIL),
)


def tell_customer(
    session: Session, customer: Customer, *, subject_key: str, body_key: str, **params: str
) -> int | None:
    """Queue one message to the customer in the caller's transaction -> its outbox id, or None
    when there is no deliverable channel (no mobile or e-mail on file, the customer's key gone,
    or the service purpose not usable)."""
    if not outbox.purpose_allowed(session, customer_id=customer.id, purpose=PurposeCode.SERVICE):
        return None
    for field, channel in ADDRESSES:
        try:
            address = customer_fields.read(session, customer, field)
        except DomainError:  # the customer's data key is gone: nobody left to tell
            return None
        if not address:
            continue
        try:
            return outbox.queue_message(
                session,
                channel=channel,
                purpose=PurposeCode.SERVICE,
                customer_id=customer.id,
                customer_key_id=customer.data_key_id,
                recipient=address,
                subject=t(subject_key, LOCALE, **params),
                body=t(body_key, LOCALE, **params),
            )
        except DomainError:  # not an address this channel takes (a landline): the next one
            continue
    return None
