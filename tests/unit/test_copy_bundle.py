"""个人信息副本 (issue 4, acceptance 4): the copy holds the customer's data and nothing of any
other customer, opens only with its password, leaves level-3 data out unless the member asks
for it themself, is written nowhere, and its audit entry names fields, never values. It covers
the customer's membership cards, stored value, points and complaints (text, timeline notes and
replies, the list of attachments without their bytes) too."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
import pyzipper
from sqlalchemy import func, select

from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry, RightsRequest
from custapp.services import (
    bootstrap,
    complaint_attachments,
    complaints,
    consent,
    copy_bundle,
    customers,
    membership,
    orders,
    points,
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


# --- membership and complaints ---------------------------------------------------------------

JPEG = b"\xff\xd8\xff\xe0" + b"SUITCASE-PIXELS-" * 32
COMPLAINT_A = {
    "description": "张三丰的行李箱在寄存时被划破",
    "desired": "张三丰希望赔偿维修费",
    "reply": "张三丰先生您好，我们已安排维修",
    "note": "内部备注：张三丰为老客户，优先处理",
    "investigating": "张三丰的箱子已送检",
    "root_cause": "寄存架边缘有毛刺",
    "solution": "赔偿维修费并打磨寄存架",
    "reason": "张三丰投诉补偿积分",
    "filename": "张三丰的行李箱.jpg",
}
COMPLAINT_B = {
    "description": "李四光的外套被弄脏",
    "desired": "李四光要求干洗",
    "reply": "李四光先生您好",
}


def _call(fn, actor: Actor, **kwargs):  # noqa: ANN001, ANN202
    with session_scope() as session:
        return fn(session, actor=actor, **kwargs)


@pytest.fixture
def members(world) -> dict:  # noqa: ANN001
    """A: a silver card, a purchase from stored value with points, an adjustment, a closed
    complaint with a reply, an internal note and an attachment. B: a complaint with a reply."""
    desk, boss = world["desk"], _staff("boss.one", "cs_manager")
    a, b = world["a"]["id"], world["b"]["id"]
    card = _call(
        membership.issue_card, desk, customer_id=a, tier_code="silver", application_signed=True,
        first_topup_fen=20_000, topup_method="wechat", fee_method="cash",
    ).card  # fmt: skip
    bought = _call(
        orders.post_purchase, desk, customer_id=a, lines=[("洗车", 1, 19_990)],
        payments=[("stored_value", 17_991)], card_number=card.number,
    )  # fmt: skip
    _call(points.adjust_points, boss, customer_id=a, points=50, reason=COMPLAINT_A["reason"])
    c = COMPLAINT_A
    filed = _call(
        complaints.file_complaint, desk, customer_id=a, channel="counter", category="product",
        severity="high", description=c["description"], desired=c["desired"],
    )  # fmt: skip
    _call(complaints.add_note, boss, complaint_id=filed.id, body=c["reply"], visible=True)
    _call(complaints.add_note, boss, complaint_id=filed.id, body=c["note"])
    _call(complaint_attachments.add_complaint_attachment, desk, complaint_id=filed.id,
          filename=c["filename"], content=JPEG)  # fmt: skip
    for step, note in (("investigating", c["investigating"]), ("solution_proposed", ""),
                       ("customer_informed", ""), ("return_visit", "")):  # fmt: skip
        _call(complaints.move, boss, complaint_id=filed.id, to_status=step, note=note)
    _call(
        complaints.close, boss, complaint_id=filed.id, root_cause=c["root_cause"],
        solution=c["solution"], informed_on=date(2026, 4, 10), informed_via="phone",
        satisfaction=4,
    )  # fmt: skip
    other = _call(
        complaints.file_complaint, desk, customer_id=b, channel="phone", category="service",
        severity="normal", description=COMPLAINT_B["description"], desired=COMPLAINT_B["desired"],
    )  # fmt: skip
    _call(complaints.add_note, boss, complaint_id=other.id, body=COMPLAINT_B["reply"], visible=True)
    _call(complaint_attachments.add_complaint_attachment, desk, complaint_id=other.id,
          filename="李四光的外套.jpg", content=JPEG)  # fmt: skip
    return {
        "card": card.number, "order": bought.number, "complaint": filed.number,
        "other": other.number,
    }  # fmt: skip


def _sections(content: bytes, password: str) -> tuple[dict, dict[str, str]]:
    files = _open(content, password)
    return json.loads(files["data.json"])["sections"], files


def test_the_copy_holds_the_customers_membership_and_complaints(world, members):  # noqa: ANN001
    _, content, password = _build(world["comp"], world["a"]["request"].id)
    data, files = _sections(content, password)
    (card,) = data["membership_cards"]
    assert card == {
        "number": members["card"], "tier": "银卡", "member_class": "VIP 会员", "status": "有效",
        "store": "", "issued": card["issued"], "upgraded": "", "ended": "",
    } and card["issued"]  # fmt: skip
    assert [(e["kind"], e["amount"], e["order"]) for e in data["stored_value"]] == [
        ("充值", "200.00", ""), ("储值消费", "-179.91", members["order"]),
    ]  # fmt: skip
    assert [(e["kind"], e["points"], e["order"], e["reason"]) for e in data["points"]] == [
        ("消费积分", "179", members["order"], ""), ("人工调整", "50", "", COMPLAINT_A["reason"]),
    ]  # fmt: skip
    (complaint,) = data["complaints"]
    c = COMPLAINT_A
    assert complaint == {
        "number": members["complaint"], "channel": "柜台", "category": "产品质量",
        "severity": "高", "received": complaint["received"], "status": "已结案",
        "description": c["description"], "desired": c["desired"], "contact": "",
        "root_cause": c["root_cause"], "solution": c["solution"], "informed_on": "2026-04-10",
        "informed_via": "电话", "satisfaction": "4", "no_score_reason": "",
        "closed": complaint["closed"],
    }  # fmt: skip
    number = members["complaint"]
    assert [
        (e["complaint"], e["kind"], e["status"], e["visible"], e["body"])
        for e in data["complaint_timeline"]
    ] == [
        (number, "回复客户", "", "是", c["reply"]),
        (number, "备注", "", "否", c["note"]),  # the internal note too: it is about the customer
        (number, "备注", "", "否", c["investigating"]),  # a note on a move: internal unticked
    ]
    (attachment,) = data["complaint_attachments"]
    assert (attachment["complaint"], attachment["file_name"], attachment["content_type"],
            attachment["size"]) == (number, c["filename"], "image/jpeg", str(len(JPEG)))  # fmt: skip
    # the list of files, never their bytes; no staff name
    text = _all_text(files)
    assert "SUITCASE-PIXELS" not in text and "boss.one" not in text and "desk.one" not in text
    # another customer's complaint is not in the copy
    for value in (members["other"], *COMPLAINT_B.values(), "李四光的外套.jpg"):
        assert value not in text, value
    # CSV headers are labelled
    header = next(csv.reader(io.StringIO(files["complaint_attachments.csv"].lstrip("\ufeff"))))
    assert header == ["投诉编号", "文件名", "文件类型", "大小（字节）", "时间"]


def test_the_other_customers_copy_holds_only_their_complaint(world, members):  # noqa: ANN001
    _, content, password = _build(world["comp"], world["b"]["request"].id)
    data, files = _sections(content, password)
    assert [c["number"] for c in data["complaints"]] == [members["other"]]
    assert data["complaints"][0]["description"] == COMPLAINT_B["description"]
    assert [e["body"] for e in data["complaint_timeline"]] == [COMPLAINT_B["reply"]]
    assert [f["file_name"] for f in data["complaint_attachments"]] == ["李四光的外套.jpg"]
    assert data["membership_cards"] == data["stored_value"] == data["points"] == []
    text = _all_text(files)
    for value in (members["complaint"], members["card"], *COMPLAINT_A.values()):
        assert value not in text, value


def test_staff_and_member_copies_hold_the_same_complaints(world, members):  # noqa: ANN001
    _, content, password = _build(world["comp"], world["a"]["request"].id)
    staff, _ = _sections(content, password)
    member = Actor(user_id=None, name="member#1", kind="member", roles=frozenset({"member"}),
                   customer_id=world["a"]["id"])  # fmt: skip
    with session_scope() as session:
        _, content, password = copy_bundle.member_build_copy(session, actor=member)
    own, files = _sections(content, password)
    for name in ("membership_cards", "stored_value", "points", "complaints",
                 "complaint_timeline", "complaint_attachments"):  # fmt: skip
        assert own[name] == staff[name], name
    # and level 3 is still only in the member's own
    assert A["bank_account"] in _all_text(files)
    assert "bank_account" not in {row["field"] for row in staff["profile"]}


def test_the_complaint_fields_given_out_are_audited_by_name(world, members):  # noqa: ANN001
    _build(world["comp"], world["a"]["request"].id)
    with session_scope() as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "rights.copy")
        ).scalar_one()
        fields = set(entry.fields.split(","))
        text = f"{entry.detail} {entry.fields}"
    assert {
        "complaint.description", "complaint.desired", "complaint.root_cause",
        "complaint.solution", "complaint.event", "complaint_attachment.filename",
    } <= fields  # fmt: skip
    assert "complaint.contact" not in fields  # nothing to give: not named
    for section in ("membership_cards", "stored_value", "points", "complaints",
                    "complaint_timeline", "complaint_attachments"):  # fmt: skip
        assert section in text
    for value in COMPLAINT_A.values():
        assert value not in text, value
