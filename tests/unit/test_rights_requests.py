"""个人信息权利请求 (issue 4): numbering, due dates in local calendar days with a controllable
clock, overdue flagging, assigning and closing, a withdrawal closed as done withdrawing consents,
the member's own requests, encryption at rest, and who may do what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry, ConsentEvent, RightsRequest
from custapp.services import bootstrap, consent, customers, merge, rights
from custapp.services.actor import Actor, system_actor
from custapp.services.customers import CustomerInput
from custapp.services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from custapp.settings import get_settings

# 17:00 UTC on 1 March is 01:00 on 2 March in Shanghai: the request is received on the 2nd.
EVENING_UTC = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
DETAIL = "客户来电要求提供本人近一年消费记录副本，联系电话13912345678"
OUTCOME = "已于柜台交付加密副本，密码电话告知"


def _staff(username: str, role: str, *, active: bool = True) -> Actor:
    with session_scope() as session:
        user_id = bootstrap.create_staff_user(
            session,
            actor=system_actor("test"),
            username=username,
            display_name=f"{username} 名",
            roles=[role],
            password="Correct-horse-42",
        )
        if not active:
            from custapp.models import User

            session.get(User, user_id).is_active = False
    return Actor(user_id=user_id, name=username, roles=frozenset({role}))


def _member(customer_id: int | None) -> Actor:
    return Actor(user_id=None, name="member#x", kind="member", roles=frozenset({"member"}),
                 customer_id=customer_id)  # fmt: skip


@pytest.fixture
def world(db) -> dict:
    clock.set_now(EVENING_UTC)
    desk = _staff("desk.one", "front_desk")
    with session_scope() as session:
        zhang = customers.create_customer(
            session, actor=desk, data=CustomerInput(name="张三", phone="13912345678")
        ).id
        li = customers.create_customer(
            session, actor=desk, data=CustomerInput(name="李四", phone="13800001111")
        ).id
    return {
        "desk": desk,
        "manager": _staff("cs.manager", "cs_manager"),
        "comp": _staff("comp.one", "compliance"),
        "comp2": _staff("comp.two", "compliance"),
        "auditor": _staff("the.auditor", "auditor"),
        "admin": _staff("root.admin", "sysadmin"),
        "zhang": zhang,
        "li": li,
    }


def _file(actor: Actor, customer_id: int, kind: str = "copy", **kw) -> rights.RequestRef:
    values = {"channel": "counter", "detail": DETAIL, **kw}
    with session_scope() as session:
        return rights.file_request(
            session, actor=actor, customer_id=customer_id, kind=kind, **values
        )


def _list(actor: Actor, **kw) -> tuple[list[rights.RequestRow], int]:
    with session_scope() as session:
        return rights.list_requests(session, actor=actor, **kw)


def _close(actor: Actor, request_id: int, status: str = "done", **kw) -> list[str]:
    with session_scope() as session:
        return rights.close_request(
            session, actor=actor, request_id=request_id, status=status, **kw
        )


def _get(actor: Actor, request_id: int) -> rights.RequestDetail:
    with session_scope() as session:
        return rights.get_request(session, actor=actor, request_id=request_id)


def _overdue_count() -> int:
    with session_scope(write=False) as session:
        return rights.overdue_count(session)


def _row(request_id: int) -> RightsRequest:
    with session_scope(write=False) as session:
        row = session.get(RightsRequest, request_id)
        session.expunge(row)  # the read-only scope rolls back, which would expire it
        return row


# --- numbering and due dates ----------------------------------------------------------------------


def test_due_date_is_the_local_day_of_receipt_plus_15_calendar_days(world):
    ref = _file(world["desk"], world["zhang"])
    # received 2026-03-02 in Shanghai (still 1 March in UTC): due 15 days after the local day
    assert ref.due_on == date(2026, 3, 17)
    assert ref.number == "Q202603020001"
    row = _row(ref.id)
    assert (row.status, row.channel, row.kind, row.received_at) == (
        "open", "counter", "copy", EVENING_UTC,
    )  # fmt: skip
    second = _file(world["manager"], world["li"], kind="explanation", channel="letter")
    assert second.number == "Q202603020002"
    clock.set_now(datetime(2026, 3, 2, 15, 59, tzinfo=UTC))  # 23:59 on the 2nd in Shanghai
    assert _file(world["comp"], world["zhang"]).number == "Q202603020003"
    clock.set_now(datetime(2026, 3, 2, 16, 0, tzinfo=UTC))  # midnight: the 3rd in Shanghai
    third = _file(world["desk"], world["zhang"])
    assert (third.number, third.due_on) == ("Q202603030001", date(2026, 3, 18))


def test_the_due_days_are_configurable(world, monkeypatch):
    monkeypatch.setenv("CUSTAPP_RIGHTS_DUE_DAYS", "30")
    get_settings.cache_clear()
    assert _file(world["desk"], world["zhang"]).due_on == date(2026, 4, 1)


def test_two_filings_picking_the_same_number_both_get_one(world, monkeypatch):
    first = _file(world["desk"], world["zhang"])
    real = rights._next_number
    calls = []

    def stale_first(session, day):  # noqa: ANN001, ANN202 (as a concurrent filer would see it)
        calls.append(day)
        return first.number if len(calls) == 1 else real(session, day)

    monkeypatch.setattr(rights, "_next_number", stale_first)
    second = _file(world["desk"], world["li"])
    assert second.number == "Q202603020002" and len(calls) == 2
    assert _row(second.id).customer_id == world["li"]


# --- overdue ---------------------------------------------------------------------------------------


def test_a_request_is_overdue_from_the_local_day_after_its_due_date(world):
    ref = _file(world["desk"], world["zhang"])
    comp = world["comp"]
    # 23:59 on the due date in Shanghai: due today, not overdue
    clock.set_now(datetime(2026, 3, 17, 15, 59, tzinfo=UTC))
    (row,), _ = _list(comp)
    assert row.overdue_days == 0
    assert _list(comp, overdue_only=True) == ([], 0)
    assert _overdue_count() == 0
    # 00:00 on the 18th in Shanghai (still the 17th in UTC): one day overdue
    clock.set_now(datetime(2026, 3, 17, 16, 0, tzinfo=UTC))
    (row,), total = _list(comp, overdue_only=True)
    assert (row.id, row.overdue_days, total) == (ref.id, 1, 1)
    assert _overdue_count() == 1
    # in progress is still overdue; closing it ends that
    clock.advance(timedelta(days=4))
    with session_scope() as session:
        rights.assign(session, actor=comp, request_id=ref.id)
    (row,), _ = _list(comp, overdue_only=True)
    assert (row.status, row.overdue_days) == ("in_progress", 5)
    _close(comp, ref.id, outcome=OUTCOME)
    assert _list(comp, overdue_only=True) == ([], 0)
    assert _overdue_count() == 0
    (row,), _ = _list(comp)
    assert (row.status, row.overdue_days) == ("done", 0)
    closing = _audit("rights.close")[-1]
    assert '"overdue_days": 5' in closing.detail


def test_the_list_is_ordered_by_due_date_and_filtered(world):
    comp = world["comp"]
    early = _file(world["desk"], world["zhang"], kind="deletion")
    clock.advance(timedelta(days=3))
    late = _file(world["desk"], world["li"], kind="copy")
    clock.advance(timedelta(days=1))
    middle_due = _file(world["desk"], world["li"], kind="explanation")
    _close(comp, middle_due.id, outcome="已解释")
    rows, total = _list(comp)
    assert [r.id for r in rows] == [early.id, late.id, middle_due.id] and total == 3
    assert [r.id for r in _list(comp, status="active")[0]] == [early.id, late.id]
    assert [r.id for r in _list(comp, status="done")[0]] == [middle_due.id]
    assert [r.id for r in _list(comp, kind="copy")[0]] == [late.id]
    assert [r.id for r in _list(comp, page=2, page_size=2)[0]] == [middle_due.id]
    assert rows[0].customer_number.startswith("C") and rows[0].customer_name == "张三"
    with pytest.raises(ValidationFailed):
        _list(comp, status="lost")
    with pytest.raises(ValidationFailed):
        _list(comp, kind="complaint")


# --- filing ------------------------------------------------------------------------------------------


def test_filing_checks_its_input_and_saves_nothing_on_an_error(world):
    desk = world["desk"]
    for values, field in (
        ({"kind": "complaint"}, "kind"),
        ({"channel": "portal"}, "channel"),  # the portal is the member's own way in
        ({"channel": "email"}, "channel"),
        ({"detail": "   "}, "detail"),
        ({"detail": "字" * 1001}, "detail"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            _file(desk, world["zhang"], **values)
        assert field in refused.value.errors, values
    with pytest.raises(NotFound):
        _file(desk, 999_999)
    assert _list(world["comp"]) == ([], 0)


def test_what_was_asked_and_answered_is_encrypted_and_never_audited(world):
    ref = _file(world["desk"], world["zhang"])
    _close(world["comp"], ref.id, outcome=OUTCOME)
    row = _row(ref.id)
    assert (
        row.detail_enc and DETAIL[:6] not in row.detail_enc and "13912345678" not in row.detail_enc
    )
    assert row.outcome_enc and OUTCOME[:6] not in row.outcome_enc
    detail = _get(world["comp"], ref.id)
    assert (detail.detail, detail.outcome, detail.filed_by_name) == (DETAIL, OUTCOME, "desk.one 名")
    entries = _audit_all()
    text = " ".join(f"{e.detail} {e.fields} {e.reason}" for e in entries)
    assert "13912345678" not in text and DETAIL[:6] not in text and OUTCOME[:6] not in text
    actions = [e.action for e in entries if e.customer_id == world["zhang"]]
    assert {"rights.file", "rights.close", "rights.open"} <= set(actions)


def test_the_front_desk_sees_the_requests_it_filed_without_their_text(world):
    mine = _file(world["desk"], world["zhang"])
    _file(world["manager"], world["li"])
    with session_scope() as session:
        rows, total = rights.list_filed(session, actor=world["desk"])
    assert [r.id for r in rows] == [mine.id] and total == 1
    assert not hasattr(rows[0], "detail")


# --- assigning and closing -----------------------------------------------------------------------------


def test_a_request_is_assigned_to_a_compliance_user_only(world):
    ref = _file(world["desk"], world["zhang"])
    comp, comp2 = world["comp"], world["comp2"]
    with session_scope() as session:
        assert [i for i, _ in rights.list_handlers(session, actor=comp)] == [
            comp.user_id, comp2.user_id,
        ]  # fmt: skip
        rights.assign(session, actor=comp, request_id=ref.id)
    assert (_row(ref.id).handler_id, _row(ref.id).status) == (comp.user_id, "in_progress")
    with session_scope() as session:
        rights.assign(session, actor=comp, request_id=ref.id, handler_id=comp2.user_id)
    assert _row(ref.id).handler_id == comp2.user_id
    gone = _staff("comp.gone", "compliance", active=False)
    for handler in (world["desk"].user_id, world["manager"].user_id, gone.user_id, 999_999):
        with pytest.raises(ValidationFailed) as refused, session_scope() as session:
            rights.assign(session, actor=comp, request_id=ref.id, handler_id=handler)
        assert refused.value.errors == {"handler": "rights.error.handler"}
    assert _row(ref.id).handler_id == comp2.user_id


def test_closing_rules(world):
    comp = world["comp"]
    # a deletion's refusal names a legal reason besides (tests/unit/test_erasure.py)
    ref = _file(world["desk"], world["zhang"], kind="correction")
    with pytest.raises(ValidationFailed) as refused:
        _close(comp, ref.id, status="refused", outcome="  ")
    assert refused.value.errors == {"outcome": "rights.error.outcome_required"}
    with pytest.raises(ValidationFailed) as refused:
        _close(comp, ref.id, status="open", outcome="x")
    assert "status" in refused.value.errors
    with pytest.raises(ValidationFailed):
        _close(comp, ref.id, status="done", outcome="字" * 1001)
    assert _row(ref.id).status == "open"
    clock.advance(timedelta(hours=2))
    _close(comp, ref.id, status="refused", outcome="法定保存期限未届满，暂不能删除")
    row = _row(ref.id)
    # nobody had taken it: the one who closed it is its handler
    assert (row.status, row.handler_id, row.closed_at) == ("refused", comp.user_id, clock.now())
    for action in (
        lambda s: rights.close_request(s, actor=comp, request_id=ref.id, status="done"),
        lambda s: rights.assign(s, actor=comp, request_id=ref.id),
    ):
        with pytest.raises(DomainError) as closed, session_scope() as session:
            action(session)
        assert closed.value.key == "rights.error.closed"
    done = _file(world["desk"], world["zhang"], kind="explanation")
    _close(comp, done.id)  # done needs no outcome text
    assert _row(done.id).status == "done" and _row(done.id).outcome_enc is None
    with pytest.raises(NotFound), session_scope() as session:
        rights.get_request(session, actor=comp, request_id=999_999)


def _grant(actor: Actor, customer_id: int, **choices: str) -> None:
    with session_scope() as session:
        consent.record_consents(
            session, actor=actor, customer_id=customer_id, choices=choices, evidence_ref="F-7"
        )


def test_a_withdrawal_closed_as_done_withdraws_the_granted_purposes(world):
    desk, comp = world["desk"], world["comp"]
    _grant(desk, world["zhang"], marketing_sms="grant", care="grant", analytics="refuse")
    _grant(desk, world["li"], marketing_sms="grant")
    ref = _file(desk, world["zhang"], kind="withdrawal", channel="phone")
    detail = _get(comp, ref.id)
    assert [code for code, _ in detail.granted_purposes] == ["care", "marketing_sms"]
    assert all(name for _, name in detail.granted_purposes)
    withdrawn = _close(comp, ref.id, outcome="已撤回全部营销与关怀同意")
    assert withdrawn == ["care", "marketing_sms"]
    with session_scope() as session:
        assert not consent.permits(session, customer_id=world["zhang"], purpose="marketing_sms")
        assert not consent.permits(session, customer_id=world["zhang"], purpose="care")
        assert consent.permits(session, customer_id=world["li"], purpose="marketing_sms")
        events = (
            session.exec(
                select(ConsentEvent)
                .where(
                    ConsentEvent.customer_id == world["zhang"], ConsentEvent.action == "withdraw"
                )
                .order_by(ConsentEvent.id)
            )
            .scalars()
            .all()
        )
    assert [(e.purpose, e.channel, e.note, e.operator_id) for e in events] == [
        ("care", "request", ref.number, comp.user_id),
        ("marketing_sms", "request", ref.number, comp.user_id),
    ]
    assert '"withdrawn": ["care", "marketing_sms"]' in _audit("rights.close")[-1].detail


def test_a_withdrawal_withdraws_only_the_chosen_purposes(world):
    desk, comp = world["desk"], world["comp"]
    _grant(desk, world["zhang"], marketing_sms="grant", care="grant")
    ref = _file(desk, world["zhang"], kind="withdrawal")
    with pytest.raises(ValidationFailed) as refused:
        _close(comp, ref.id, purposes=["analytics"])  # not granted
    assert refused.value.errors == {"purposes": "rights.error.purposes"}
    assert _close(comp, ref.id, purposes=["marketing_sms"]) == ["marketing_sms"]
    with session_scope(write=False) as session:
        assert consent.granted_purposes(session, world["zhang"]) == ["care"]


def test_a_refused_withdrawal_or_another_kind_withdraws_nothing(world):
    desk, comp = world["desk"], world["comp"]
    _grant(desk, world["zhang"], marketing_sms="grant")
    ref = _file(desk, world["zhang"], kind="withdrawal")
    assert _close(comp, ref.id, status="refused", outcome="非本人来电，无法核实身份") == []
    other = _file(desk, world["zhang"], kind="explanation")
    assert _close(comp, other.id, purposes=["marketing_sms"]) == []
    with session_scope(write=False) as session:
        assert consent.granted_purposes(session, world["zhang"]) == ["marketing_sms"]


# --- the member's own --------------------------------------------------------------------------------------


def test_a_member_files_and_lists_only_their_own_requests(world):
    member = _member(world["zhang"])
    with session_scope() as session:
        ref = rights.member_file_request(
            session, actor=member, kind="explanation", detail="请说明我的信息保存多久"
        )
    _file(world["desk"], world["li"], detail="李四的请求内容")
    row = _row(ref.id)
    assert (row.customer_id, row.channel, row.created_by) == (world["zhang"], "portal", None)
    _close(world["comp"], ref.id, outcome="保存至合同结束后三年")
    with session_scope() as session:
        rows, total = rights.member_list_requests(session, actor=member)
    assert total == 1 and [r.number for r in rows] == [ref.number]
    assert (rows[0].detail, rows[0].outcome, rows[0].status) == (
        "请说明我的信息保存多久", "保存至合同结束后三年", "done",
    )  # fmt: skip
    with pytest.raises(ValidationFailed), session_scope() as session:
        rights.member_file_request(session, actor=member, kind="copy", detail="")
    for call in (
        lambda s, a: rights.member_list_requests(s, actor=a),
        lambda s, a: rights.member_file_request(s, actor=a, kind="copy", detail="副本"),
    ):
        with pytest.raises(NotFound), session_scope() as session:
            call(session, _member(None))


# --- who may ----------------------------------------------------------------------------------------------


def test_only_compliance_lists_opens_assigns_and_closes(world):
    ref = _file(world["desk"], world["zhang"])
    for name in ("desk", "manager", "auditor", "admin"):
        actor = world[name]
        for call in (
            lambda s, a: rights.list_requests(s, actor=a),
            lambda s, a: rights.get_request(s, actor=a, request_id=ref.id),
            lambda s, a: rights.assign(s, actor=a, request_id=ref.id),
            lambda s, a: rights.close_request(s, actor=a, request_id=ref.id, status="done"),
            lambda s, a: rights.list_handlers(s, actor=a),
        ):
            with pytest.raises(PermissionDenied), session_scope() as session:
                call(session, actor)
    for name in ("auditor", "admin"):
        with pytest.raises(PermissionDenied):
            _file(world[name], world["zhang"])
    with pytest.raises(PermissionDenied), session_scope() as session:
        rights.member_file_request(session, actor=world["desk"], kind="copy", detail="副本")
    assert _row(ref.id).status == "open"
    denied = [e for e in _audit_all() if e.outcome == "denied"]
    assert len(denied) == 4 * 5 + 2 + 1


def test_overdue_count_is_a_plain_int_for_the_dashboard(world):
    _file(world["desk"], world["zhang"])
    clock.advance(timedelta(days=16))
    count = _overdue_count()
    assert count == 1 and type(count) is int


# --- merge ------------------------------------------------------------------------------------------------


def test_a_merge_moves_the_requests_re_encrypted_to_the_survivor(world):
    ref = _file(world["desk"], world["li"])
    _close(world["comp"], ref.id, outcome=OUTCOME)
    with session_scope() as session:
        from custapp.models import Customer

        m = merge.Merge(
            session=session,
            actor=world["manager"],
            survivor=session.get(Customer, world["zhang"]),
            merged=session.get(Customer, world["li"]),
            now=clock.now(),
        )
        old = session.get(RightsRequest, ref.id).detail_enc
        assert rights.merge_requests(m) == 1
    row = _row(ref.id)
    assert row.customer_id == world["zhang"] and row.detail_enc != old
    detail = _get(world["comp"], ref.id)
    assert (detail.detail, detail.outcome) == (DETAIL, OUTCOME)


# --- helpers -------------------------------------------------------------------------------------------------


def _audit(action: str) -> list[AuditEntry]:
    return [e for e in _audit_all() if e.action == action]


def _audit_all() -> list[AuditEntry]:
    with session_scope() as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.seq)).scalars())
