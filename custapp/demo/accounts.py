"""The demo accounts, stores, member and gift catalogue of `make run` (`custapp seed-demo`).

Command-line only (the caller is the operator at the machine); audited as the system actor, and
created through the production paths (services/bootstrap.py, the customer, card, order and gift
services).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from custapp import clock
from custapp.models import Gift, Store, User
from custapp.security.permissions import AUDITOR, COMPLIANCE, CS_MANAGER, FRONT_DESK, SYSADMIN
from custapp.services import auth, customers, gifts, membership, orders
from custapp.services.actor import Actor
from custapp.services.bootstrap import create_member_login, create_staff_user


@dataclass(frozen=True)
class DemoAccount:
    role: str
    login: str
    password: str
    display_name: str


DEMO_STORES = (("HQ", "总店"), ("EAST", "东城分店"))
DEMO_PASSWORD = "Demo-2026-pass"
DEMO_ACCOUNTS = (
    DemoAccount(FRONT_DESK, "frontdesk", DEMO_PASSWORD, "王前台"),
    DemoAccount(CS_MANAGER, "manager", DEMO_PASSWORD, "李经理"),
    DemoAccount(COMPLIANCE, "compliance", DEMO_PASSWORD, "赵合规"),
    DemoAccount(AUDITOR, "auditor", DEMO_PASSWORD, "钱审计"),
    DemoAccount(SYSADMIN, "admin", DEMO_PASSWORD, "孙管理员"),
    DemoAccount("member", "13800138000", DEMO_PASSWORD, "陈会员"),
)
# the demo catalogue (name zh, name en, points, stock): 陈会员's 204 points cover the tote bag
DEMO_GIFTS = (
    ("帆布购物袋", "Canvas tote bag", 120, 200),
    ("保温杯", "Vacuum flask", 300, 50),
    ("¥20 代金券", "¥20 voucher", 500, 100),
    ("生日蛋糕", "Birthday cake", 800, 20),
)


def seed_demo_accounts(session: Session, *, actor: Actor) -> list[DemoAccount]:
    now = clock.now()
    stores = []
    for code, name in DEMO_STORES:
        store = Store(code=code, name=name, created_at=now)
        session.add(store)
        stores.append(store)
    session.flush()
    all_ids = [s.id for s in stores]
    for account in DEMO_ACCOUNTS:
        if account.role == "member":
            create_member_login(
                session,
                actor=actor,
                phone=account.login,
                password=account.password,
                display_name=account.display_name,
            )
        else:
            store_ids = [] if account.role in (SYSADMIN, AUDITOR) else all_ids
            create_staff_user(
                session,
                actor=actor,
                username=account.login,
                display_name=account.display_name,
                roles=[account.role],
                password=account.password,
                store_ids=store_ids,
            )
    return list(DEMO_ACCOUNTS)


def seed_demo_member(session: Session, *, actor: Actor) -> None:
    """The demo member's own customer record: a 银卡 with a first top-up, two purchases from the
    stored value (points earned) and the member login linked to it, so 会员中心 shows a card;
    then the demo gift catalogue, one gift within the member's points."""
    account = next(a for a in DEMO_ACCOUNTS if a.role == "member")
    user = session.exec(
        select(User).where(User.login_index == auth.phone_index(account.login))
    ).scalar_one()
    customer = customers.create_customer(
        session,
        actor=actor,
        data=customers.CustomerInput(name=account.display_name, phone=account.login),
    )
    user.customer_id = customer.id
    membership.issue_card(
        session,
        actor=actor,
        customer_id=customer.id,
        tier_code="silver",
        application_signed=True,
        first_topup_fen=50000,
        topup_method="wechat",
        fee_method="wechat",
    )
    for item, price in (("招牌套餐", 16800), ("下午茶", 5990)):
        orders.post_purchase(
            session,
            actor=actor,
            customer_id=customer.id,
            lines=[(item, 1, price)],
            payments=[("stored_value", orders.paid_for(price, 90))],
        )
    seed_demo_gifts(session, actor=actor)


def seed_demo_gifts(session: Session, *, actor: Actor) -> int:
    """The demo gift catalogue, added through the catalogue service (audited) only while the
    catalogue is empty; returns how many gifts were added."""
    if session.exec(select(func.count(Gift.id))).scalar_one():
        return 0
    for name_zh, name_en, cost, stock in DEMO_GIFTS:
        gifts.create_gift(
            session, actor=actor, name_zh=name_zh, name_en=name_en, points_cost=cost, stock=stock
        )
    return len(DEMO_GIFTS)
