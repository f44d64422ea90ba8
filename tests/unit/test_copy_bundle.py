"""个人信息副本 (issue 4, acceptance 4): the copy holds the customer's data and nothing of any
other customer, opens only with its password, leaves level-3 data out unless the member asks
for it themself, is written nowhere, and its audit entry names fields, never values."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import pyzipper
from sqlalchemy import func, select

from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry, RightsRequest
from custapp.services import (
    bootstrap,
    consent,
    copy_bundle,
    customers,
    orders,
    rights,
    service_log,
)
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.services.errors import DomainError, PermissionDenied

T0 = datetime(2026, 4, 10, 2, 0, tzinfo=UTC)
A = {
    "name": "张三丰",
    "phone": "13912345678",
    "email": "zhang.sf@example.cn",
    "address": "上海市黄浦区南京东路100号",
    "id_number": "11010519491231002X",
    "income": "年收入约30万",
    "bank_account": "6222020200112233445",
    "health": "青霉素过敏",
    "notes": '=HYPERLINK("http://x")喜欢靠窗座位',
    "item": "张三丰的年度会员礼盒",
    "service": "张三丰来电咨询年卡续费",
    "detail": "张三丰要求提供本人全部资料副本",
}
B = {
    "name": "李四光",
    "phone": "13800001111",
    "email": "li.sg@example.cn",
    "item": "李四光的红酒礼盒",
    "service": "李四光投诉上菜慢",
    "detail": "李四光要求解释积分规则",
}


def _staff(username: str, role: str) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=username,
            roles=[role],
            password="Correct-horse-42",
        )
    return Actor(user_id=user_id, name=username, roles=frozenset({role}))


def _seed(desk: Actor, person: dict, *, full: bool) -> dict:
    extra = (
        {
            k: person[k]
            for k in ("address", "id_number", "income", "bank_account", "health", "notes")
        }
        if full
        else {}
    )
    with session_scope() as session:
        cid = customers.create_customer(
            session,
            actor=desk,
            data=CustomerInput(
                name=person["name"],
                phone=person["phone"],
                email=person["email"],
                tags=[f"{person['name']}标签"],
                **extra,
            ),
        ).id
        order = orders.post_purchase(
            session,
            actor=desk,
            customer_id=cid,
            lines=[(person["item"], 2, 12_345), ("矿泉水", 1, 300)],
            payments=[("wechat", 20_000), ("cash", 4_990)],
        )
        service_log.add_entry(session, actor=desk, customer_id=cid, kind="call",
                              content=person["service"])  # fmt: skip
        consent.record_consents(
            session, actor=desk, customer_id=cid, choices={"marketing_sms": "grant"},
            evidence_ref=f"F-{person['phone'][-4:]}",
        )  # fmt: skip
        request = rights.file_request(
            session, actor=desk, customer_id=cid, kind="copy", channel="counter",
            detail=person["detail"],
        )  # fmt: skip
    return {"id": cid, "order": order.number, "request": request}


@pytest.fixture
def world(db) -> dict:
    clock.set_now(T0)
    desk = _staff("desk.one", "front_desk")
    return {
        "desk": desk,
        "comp": _staff("comp.one", "compliance"),
        "a": _seed(desk, A, full=True),
        "b": _seed(desk, B, full=False),
    }


def _build(actor: Actor, request_id: int, locale: str | None = None) -> tuple[str, bytes, str]:
    with session_scope() as session:
        return copy_bundle.build_copy(session, actor=actor, request_id=request_id, locale=locale)


def _open(content: bytes, password: str) -> dict[str, str]:
    """Every file of the copy, as text (the CSVs keep their BOM)."""
    with pyzipper.AESZipFile(io.BytesIO(content)) as archive:
        archive.setpassword(password.encode())
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}


def _all_text(files: dict[str, str]) -> str:
    return "\n".join(files.values())


def test_the_copy_holds_the_customers_data_in_json_and_csv(world):
    a = world["a"]
    filename, content, password = _build(world["comp"], a["request"].id)
    assert filename == f"{a['request'].number}-copy.zip"
    files = _open(content, password)
    sections = [s.name for s in copy_bundle.SECTIONS]
    assert sorted(files) == sorted(["data.json", *[f"{s}.csv" for s in sections]])
    data = json.loads(files["data.json"])
    assert data["level3_included"] is False and list(data["sections"]) == sections
    profile = {row["field"]: row["value"] for row in data["sections"]["profile"]}
    assert profile["name"] == A["name"]
    assert profile["phone"] == A["phone"]
    assert profile["email"] == A["email"]
    assert profile["address"] == A["address"]
    assert profile["id_number"] == A["id_number"]
    assert profile["birth_date"] == "1949-12-31"
    assert profile["income"] == A["income"]  # level 2: the customer's own
    assert profile["notes"] == A["notes"]
    assert data["sections"]["tags"] == [{"tag": f"{A['name']}标签"}]
    (order,) = data["sections"]["orders"]
    assert (order["number"], order["paid"], order["kind"]) == (a["order"], "249.90", "消费")
    assert [line["item"] for line in data["sections"]["order_lines"]] == [A["item"], "矿泉水"]
    assert [(p["method"], p["amount"]) for p in data["sections"]["payments"]] == [
        ("微信支付", "200.00"), ("现金", "49.90"),
    ]  # fmt: skip
    assert data["sections"]["service_log"][0]["content"] == A["service"]
    (state,) = data["sections"]["consents"]
    assert state["state"] == "已同意"
    assert data["sections"]["consent_events"][0]["evidence"] == "F-5678"
    (request,) = data["sections"]["rights_requests"]
    assert (request["number"], request["detail"]) == (a["request"].number, A["detail"])
    # CSV: UTF-8 with BOM, Chinese headers, the same rows
    assert files["orders.csv"].startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(files["order_lines.csv"].lstrip("\ufeff"))))
    assert rows[0][:2] == ["订单编号", "商品或服务"]
    assert rows[1][:3] == [a["order"], A["item"], "2"]
    profile_csv = list(csv.reader(io.StringIO(files["profile.csv"].lstrip("\ufeff"))))
    # a typed formula is text in the spreadsheet, and unchanged in data.json
    assert ["notes", "备注", "'" + A["notes"]] in profile_csv


def test_nothing_of_another_customer_is_in_the_copy(world):
    filename, content, password = _build(world["comp"], world["a"]["request"].id)
    text = _all_text(_open(content, password))
    for value in (*B.values(), world["b"]["order"], world["b"]["request"].number, "F-1111"):
        assert value not in text, value
    # and the other way round
    _, content, password = _build(world["comp"], world["b"]["request"].id)
    text = _all_text(_open(content, password))
    assert B["name"] in text and B["item"] in text
    for value in (A["name"], A["phone"], A["item"], A["service"], A["detail"], world["a"]["order"]):
        assert value not in text, value


def test_the_copy_does_not_open_without_its_password(world):
    _, content, password = _build(world["comp"], world["a"]["request"].id)
    for needle in (A["name"], A["phone"], A["item"], A["service"], A["detail"]):
        assert needle.encode() not in content
    with pytest.raises(RuntimeError):
        _open(content, "wrong-password")
    with pytest.raises(RuntimeError):
        _open(content, password[:-1] + ("x" if password[-1] != "x" else "y"))
    with zipfile.ZipFile(io.BytesIO(content)) as plain, pytest.raises(RuntimeError):
        plain.read("data.json")  # encrypted: the standard library cannot read it
    assert len(password) == copy_bundle.PASSWORD_LENGTH
    assert set(password) <= set(copy_bundle.PASSWORD_ALPHABET)
    assert not set(password) & set("0O1lI")
    _, _, again = _build(world["comp"], world["a"]["request"].id)
    assert again != password


def test_level_3_data_is_only_in_the_members_own_copy(world):
    _, content, password = _build(world["comp"], world["a"]["request"].id)
    data = json.loads(_open(content, password)["data.json"])
    text = _all_text(_open(content, password))
    assert A["bank_account"] not in text and A["health"] not in text
    assert "bank_account" not in {row["field"] for row in data["sections"]["profile"]}
    member = Actor(user_id=None, name="member#1", kind="member", roles=frozenset({"member"}),
                   customer_id=world["a"]["id"])  # fmt: skip
    with session_scope() as session:
        filename, content, password = copy_bundle.member_build_copy(session, actor=member)
    assert filename.startswith(f"{data['customer_number']}-20260410")
    files = _open(content, password)
    data = json.loads(files["data.json"])
    assert data["level3_included"] is True
    profile = {row["field"]: row["value"] for row in data["sections"]["profile"]}
    assert (profile["bank_account"], profile["health"]) == (A["bank_account"], A["health"])
    for value in (B["name"], B["phone"], B["item"], world["b"]["order"]):
        assert value not in _all_text(files)


def test_the_copy_is_audited_with_field_names_and_no_values(world):
    a = world["a"]
    _build(world["comp"], a["request"].id)
    with session_scope() as session:
        entries = session.exec(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
        copy_entry = entries[-1]
        assert (copy_entry.action, copy_entry.customer_id, copy_entry.target_id) == (
            "rights.copy", a["id"], a["request"].number,
        )  # fmt: skip
        fields = copy_entry.fields.split(",")
        assert {"phone", "email", "id_number", "income", "notes", "service_log.content"} <= set(
            fields
        )
        assert "bank_account" not in fields and "health" not in fields
        text = " ".join(f"{e.detail} {e.fields} {e.reason}" for e in entries)
    for value in A.values():
        assert value not in text, value


def test_the_copy_takes_the_request_on_and_only_a_copy_request_makes_one(world):
    comp, a = world["comp"], world["a"]
    _build(comp, a["request"].id)
    with session_scope() as session:
        request = session.get(RightsRequest, a["request"].id)
        assert (request.status, request.handler_id) == ("in_progress", comp.user_id)
        other = rights.file_request(
            session, actor=comp, customer_id=a["id"], kind="explanation", channel="phone",
            detail="说明用途",
        )  # fmt: skip
    with pytest.raises(DomainError) as refused:
        _build(comp, other.id)
    assert refused.value.key == "rights.error.not_copy"
    with session_scope() as session:
        rights.close_request(session, actor=comp, request_id=a["request"].id, status="done")
    with pytest.raises(DomainError) as refused:
        _build(comp, a["request"].id)
    assert refused.value.key == "rights.error.closed"


def test_nothing_is_stored_on_disk_or_in_the_database(world, tmp_path):
    def files() -> set[str]:
        return {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}

    def counts() -> tuple[int, ...]:
        with session_scope() as session:
            return tuple(
                session.exec(select(func.count()).select_from(model)).scalar_one()
                for model in (RightsRequest, AuditEntry)
            )

    before_files, before_counts = files(), counts()
    _build(world["comp"], world["a"]["request"].id)
    assert files() == before_files
    assert counts() == (before_counts[0], before_counts[1] + 1)  # only the audit entry


def test_staff_without_rights_manage_cannot_make_a_copy(world):
    for role in ("front_desk", "cs_manager", "auditor", "sysadmin"):
        actor = world["desk"] if role == "front_desk" else _staff(f"u.{role}", role)
        with pytest.raises(PermissionDenied):
            _build(actor, world["a"]["request"].id)
        with pytest.raises(PermissionDenied), session_scope() as session:
            copy_bundle.member_build_copy(session, actor=actor)
    with session_scope() as session:
        assert session.get(RightsRequest, world["a"]["request"].id).status == "open"


def test_the_copy_speaks_the_requested_language(world):
    clock.advance(timedelta(minutes=5))
    _, content, password = _build(world["comp"], world["a"]["request"].id, locale="en")
    files = _open(content, password)
    header = next(csv.reader(io.StringIO(files["payments.csv"].lstrip("\ufeff"))))
    assert header == ["Order", "Payment method", "Amount (yuan)"]
    assert json.loads(files["data.json"])["sections"]["payments"][0]["method"] == "WeChat Pay"
