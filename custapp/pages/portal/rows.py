"""What 会员中心's 积分兑换 section shows, as typed rows (the card and the ledger rows are the
shared ones of custapp/components/membership.py)."""

from __future__ import annotations

import dataclasses

from custapp import clock
from custapp.components.gifts import gift_name
from custapp.services import gifts
from custapp.vocab import RedemptionStatus


@dataclasses.dataclass(frozen=True)
class GiftOffer:
    """A gift the member can request today."""

    id: int = 0
    name: str = ""
    cost: str = ""  # "300 积分", in the reader's language


@dataclasses.dataclass(frozen=True)
class RequestRow:
    """One of the member's redemption requests."""

    id: int = 0
    number: str = ""
    gift: str = ""
    quantity: int = 0
    points: str = ""  # the points in all, formatted
    status: str = ""  # a vocab.RedemptionStatus value
    status_label: str = ""
    channel: str = ""
    reason: str = ""  # why it was rejected, "" for none
    time: str = ""
    pending: bool = False  # still waiting: the member may withdraw it


def gift_offer(view: gifts.GiftView, t, locale: str) -> GiftOffer:  # noqa: ANN001
    return GiftOffer(
        id=view.id,
        name=gift_name(view, locale),
        cost=t("redemption.points_cost", points=f"{view.points_cost:,}"),
    )


def request_row(view: gifts.RequestView, t, locale: str) -> RequestRow:  # noqa: ANN001
    return RequestRow(
        id=view.id,
        number=view.number,
        gift=gift_name(view, locale),
        quantity=view.quantity,
        points=f"{view.points_total:,}",
        status=view.status,
        status_label=t(f"redemption.status.{view.status}"),
        channel=t(f"redemption.channel.{view.channel}"),
        reason=view.decision_reason,
        time=clock.format_local(view.created_at),
        pending=view.status == RedemptionStatus.PENDING,
    )
