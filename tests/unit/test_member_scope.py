"""Acceptance 4 of issue 5 at the services: every operation a member may call (`member.self`
in the guard's registry, so a new one is covered without touching this file), called by member
A with the ids of member B's records and with any extra keyword naming B, never returns B's
data and never changes it. The customer is the login's; an argument naming another one is a
TypeError (the operations take no such keyword) or, if one ever does, ignored."""

from __future__ import annotations

import importlib
import inspect
import io
import pkgutil
import re
from collections.abc import Callable

import pytest
import pyzipper
from sqlalchemy import select
from sqlmodel import SQLModel
from test_membership import NOON, _customer, _staff, _store, buy, call, issue

import custapp.services
from custapp import clock
from custapp.db import session_scope
from custapp.models import Customer, RedemptionRequest
from custapp.services import auth, bootstrap, complaints, consent, gifts, rights
from custapp.services.actor import Actor, system_actor
from custapp.services.errors import DomainError
from custapp.services.guard import OPERATIONS

PASSWORD = "Member-pass-2026"
PHONE_A, PHONE_B = "13911110000", "13822229999"
NAME_A, NAME_B = "王自己", "李别人"
ADDRESS_B = "上海市保密路88号"
COMPLAINT_B = "保密投诉：前台泄露了我的房间号"
OTHER_KEYWORDS = ("customer_id", "cid", "customer", "member_id", "user_id", "card_number")


def _member_ops() -> dict[str, Callable]:
    for module in pkgutil.iter_modules(custapp.services.__path__):
        importlib.import_module(f"custapp.services.{module.name}")  # fills the registry
    ops = {}
    for name, permission in sorted(OPERATIONS.items()):
        if permission == "member.self":
            module, fn = name.rsplit(".", 1)
            ops[name] = getattr(importlib.import_module(f"custapp.services.{module}"), fn)
    return ops


OPS = _member_ops()


def _member_actor(phone: str, customer_id: int, name: str) -> tuple[Actor, int]:
    with session_scope() as session:
        user_id = bootstrap.create_member_login(
            session, actor=system_actor("test"), phone=phone, password=PASSWORD,
            display_name=name, customer_id=customer_id,
        )  # fmt: skip
    with session_scope() as session:
        login = auth.login_member(session, phone=phone, password=PASSWORD, ip="10.0.0.8")
    assert login.ok
    with session_scope() as session:
        actor = auth.resolve_session(session, token=login.token).actor
    assert actor is not None and actor.customer_id == customer_id
    return actor, user_id


@pytest.fixture
def world(db) -> dict:  # noqa: ANN001
    clock.set_now(NOON)
    store = _store()
    desk, boss = _staff("desk.one", "front_desk", store), _staff("boss.one", "cs_manager", store)
    ids: dict = {}
    for key, name, phone, more in (
        ("a", NAME_A, PHONE_A, {}),
        ("b", NAME_B, PHONE_B, {"address": ADDRESS_B}),
    ):
        cid = _customer(name, phone, **more)
        card = issue(desk, cid, "ordinary", 0)
        buy(desk, cid, 50000, [("cash", 50000)])
        ids[f"cid_{key}"], ids[f"card_number_{key}"] = cid, card.card.number
        ids[f"actor_{key}"], ids[f"user_{key}"] = _member_actor(phone, cid, name)
        with session_scope() as session:
            ids[f"number_{key}"] = session.get(Customer, cid).number
    ids["gift"] = call(
        gifts.create_gift, boss, name_zh="保温杯", name_en="Vacuum flask", points_cost=100,
        stock=50,
    ).id  # fmt: skip
    for key in "ab":
        cid = ids[f"cid_{key}"]
        ids[f"redemption_{key}"] = call(
            gifts.file_request, desk, customer_id=cid, gift_id=ids["gift"]
        ).id
        call(
            consent.record_consents, system_actor("test"), customer_id=cid,
            choices={"marketing_sms": "grant", "care": "grant"}, evidence_ref="F-1",
        )  # fmt: skip
        ids[f"rights_{key}"] = call(
            rights.file_request, system_actor("test"), customer_id=cid, kind="copy",
            channel="letter", detail="客户来信要求复制个人信息",
        ).id  # fmt: skip
    ids["complaint_b"] = call(
        complaints.file_complaint, desk, customer_id=ids["cid_b"], channel="counter",
        category="service", severity="normal", description=COMPLAINT_B,
    ).id  # fmt: skip
    for step in ("investigating", "solution_proposed", "customer_informed"):
        call(complaints.move, desk, complaint_id=ids["complaint_b"], to_status=step)
    ids["secrets_b"] = (
        NAME_B, PHONE_B, ids["card_number_b"], ids["number_b"], ADDRESS_B, COMPLAINT_B,
    )  # fmt: skip
    return ids


def _b_rows(world: dict) -> dict[str, list[str]]:
    """Every row of B's: B's customer and login, and each row that names B as its customer."""
    out: dict[str, list[str]] = {}
    with session_scope(write=False) as session:
        for table in SQLModel.metadata.sorted_tables:
            columns = table.columns.keys()
            if table.name == "customers":
                where = table.c.id == world["cid_b"]
            elif table.name == "users":
                where = table.c.id == world["user_b"]
            elif "customer_id" in columns:
                where = table.c.customer_id == world["cid_b"]
            else:
                continue
            if table.name in ("audit_log", "login_sessions"):
                continue
            rows = session.execute(select(table).where(where)).all()
            out[table.name] = sorted(repr(sorted(dict(r._mapping).items())) for r in rows)
    return out


def _text(result: object) -> str:
    """What the call gave, as text: an encrypted zip (the copy of one's data) opened with the
    password beside it."""
    parts = [repr(result)]
    items = result if isinstance(result, tuple) else (result,)
    passwords = [i for i in items if isinstance(i, str)]
    for item in items:
        if isinstance(item, bytes) and item[:2] == b"PK":
            for password in passwords:
                try:
                    with pyzipper.AESZipFile(io.BytesIO(item)) as archive:
                        archive.setpassword(password.encode())
                        for member in archive.namelist():
                            parts.append(archive.read(member).decode("utf-8", "replace"))
                    break
                except RuntimeError:
                    continue
            else:
                raise AssertionError("the zip opens with no password given beside it")
    return "\n".join(parts)


def _b_in(text: str, world: dict) -> list[str]:
    found = [s for s in world["secrets_b"] if s in text]
    if re.search(rf"customer_id={world['cid_b']}\b", text):
        found.append(f"customer_id={world['cid_b']}")
    return found


def _argument(name: str, world: dict, aim: str) -> object:
    """A value for a required parameter, naming B's record where the parameter names one."""
    values = {
        "request_id": world["redemption_b"] if aim == "redemption" else world["rights_b"],
        "gift_id": world["gift"],
        "quantity": 1,
        "kind": "copy",
        "detail": "要求复制我的个人信息",
        "choices": {"marketing_sms": "refuse"},
        "purpose": "marketing_sms",
        "complaint_id": world["complaint_b"],
        "category": "billing",
        "description": "积分没有到账",
        "score": 1,
        "filename": "破损照片.jpg",
        "content": b"\xff\xd8\xff\xe0" + b"pixels" * 8,
    }
    if name in values:
        return values[name]
    if name.endswith("id"):
        return world["cid_b"]
    raise AssertionError(f"teach this test a value for {name!r}")


def _calls(fn: Callable, world: dict) -> list[dict[str, object]]:
    """Keyword sets for the operation: its required arguments aimed at B's records (each kind of
    record a request id can name), then each with an extra keyword naming B."""
    params = [
        p
        for p in inspect.signature(fn.__wrapped__).parameters.values()
        if p.kind is p.KEYWORD_ONLY and p.name != "actor"
    ]
    bases = []
    for aim in ("redemption", "rights"):
        base = {p.name: _argument(p.name, world, aim) for p in params if p.default is p.empty}
        if any(p.name == "page_size" for p in params):
            base["page_size"] = 100
        if base not in bases:
            bases.append(base)
    extra = [
        {**base, key: world["card_number_b"] if key == "card_number" else world["cid_b"]}
        for base in bases
        for key in OTHER_KEYWORDS
    ]
    return bases + extra


def test_the_registry_holds_the_member_operations() -> None:
    assert len(OPS) >= 10, sorted(OPS)
    for name in ("membership.member_summary", "gifts.member_cancel_request"):
        assert name in OPS


def test_no_member_operation_reaches_another_member(world) -> None:  # noqa: ANN001
    """One world for every operation (each call in its own transaction), every problem listed."""
    problems = []
    calls = [(name, fn, kwargs) for name, fn in OPS.items() for kwargs in _calls(fn, world)]
    assert len(calls) >= 10 * (1 + len(OTHER_KEYWORDS))
    for name, fn, kwargs in calls:
        before = _b_rows(world)
        try:
            result = call(fn, world["actor_a"], **kwargs)
        except TypeError as exc:
            extra = set(kwargs) - set(inspect.signature(fn.__wrapped__).parameters)
            assert extra and "unexpected keyword" in str(exc), (kwargs, exc)
            result = None
        except DomainError:  # refused: not found, invalid, already decided ...
            result = None
        leaked = _b_in(_text(result), world)
        if leaked:
            problems.append(f"{name}({kwargs}) returned {leaked}")
        if _b_rows(world) != before:
            problems.append(f"{name}({kwargs}) changed B's rows")
    assert not problems, "\n".join(problems)


def test_each_member_sees_their_own(world) -> None:  # noqa: ANN001
    """The control: the same operations give each member their own data, so the test above
    looks where B's data would be."""
    for key, other in (("a", "b"), ("b", "a")):
        actor = world[f"actor_{key}"]
        summary = _text(call(OPS["membership.member_summary"], actor))
        assert world[f"card_number_{key}"] in summary
        assert world[f"card_number_{other}"] not in summary
        rows, total = call(OPS["gifts.member_requests"], actor)
        assert [r.id for r in rows] == [world[f"redemption_{key}"]] and total == 1
    copy = _text(call(OPS["copy_bundle.member_build_copy"], world["actor_b"]))
    assert NAME_B in copy and PHONE_B in copy and NAME_A not in copy


def test_cancelling_another_members_request_is_not_found(world) -> None:  # noqa: ANN001
    with pytest.raises(DomainError) as caught:
        call(gifts.member_cancel_request, world["actor_a"], request_id=world["redemption_b"])
    assert caught.value.key == "redemption.error.not_found"
    with session_scope(write=False) as session:
        assert session.get(RedemptionRequest, world["redemption_b"]).status == "pending"


def test_a_request_id_past_the_integer_range_is_not_found(db, world) -> None:  # noqa: ANN001
    with pytest.raises(DomainError):
        call(gifts.member_cancel_request, world["actor_a"], request_id=13822229999)
