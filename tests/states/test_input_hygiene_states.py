"""The new-customer form with garbage typed in (issue 14, item 8): each refused field shows its
Chinese message next to it, and no customer is saved."""

from __future__ import annotations

from helpers import _staff_login, _tree
from sqlalchemy import func, select

from custapp.db import session_scope
from custapp.models import Customer
from custapp.pages.customer_form import CustomerFormState
from custapp.states.session import SessionState


def _customers() -> int:
    with session_scope() as session:
        return session.exec(select(func.count(Customer.id))).scalar_one()


def test_the_customer_form_shows_each_garbage_message_next_to_its_field(db):
    root, form = _tree(
        _staff_login("front.desk", "front_desk"), CustomerFormState, "/customers/new"
    )
    root.substates[SessionState.get_name()].locale = "zh_CN"
    assert form.load() is None
    result = form.submit(
        {
            "name": "\u202e反转abc",
            "phone": "13912345678",
            "address": "上海市\x00浦东",
            "employer": "\u200b\u200b",
            "notes": "第一行\n第二行",
            "confirm_duplicates": "on",
            "notice_shown": "on",
        }
    )
    assert result is None
    assert form.errors == {
        "name": "含有改变文字方向的控制字符，会使文字倒序显示，请删除后重新填写",
        "address": "含有不可见的控制字符（如空字符、换行），请删除后重新填写",
        "employer": "只含有不可见的字符，请填写实际内容",
    }
    assert form.form_error != ""
    assert _customers() == 0
