"""客户档案 at the counter: create, duplicate warning, search, reveal with a reason, field errors,
change history; and the roles that may not read or reveal."""

from __future__ import annotations

import random
import re
import sqlite3
from datetime import date

import pytest
from playwright.sync_api import expect

from custapp.i18n import CATALOGUES
from custapp.security.validators import make_cn_id, make_uscc

pytestmark = pytest.mark.e2e

ZH = CATALOGUES["zh_CN"]
NAME = "测试客户"
ADDRESS = "北京市朝阳区建国路八十八号院三号楼"
NEW_ADDRESS = "上海市浦东新区世纪大道一百号"
REASON = "客户来电要求回拨"
PROFILE_URL = re.compile(r"/customers/(\d+)$")


def _unique_mobile() -> str:
    return "139" + "".join(random.choices("0123456789", k=8))


def _unique_id() -> str:
    return make_cn_id("110105", date(1990, 5, 17), random.randrange(1000))


def _record_frames(page) -> list[str]:  # noqa: ANN001
    frames: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived", lambda p: frames.append(p if isinstance(p, str) else repr(p))
        ),
    )
    return frames


def _db(app, sql: str, *params: object) -> list[tuple]:  # noqa: ANN001
    """A read of the server's database (SQLite in the instance folder)."""
    path = app.server.env["CUSTAPP_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def _open_new_form(page, frames: list[str]) -> None:  # noqa: ANN001
    """新建客户 from the list. The page's load re-keys the form (a fresh, empty form), so typing
    waits for that answer: what is typed before it would be wiped by the re-mount."""
    mark = len(frames)
    page.get_by_role("button", name=ZH["customers.new"]).click()
    expect(page).to_have_url(re.compile(r"/customers/new$"))
    for _ in range(100):
        if any("form_key" in f for f in frames[mark:]):
            break
        page.wait_for_timeout(100)
    else:
        pytest.fail("the form page did not load")
    page.wait_for_timeout(200)  # the re-render after the answer


def _fill(page, values: dict[str, str]) -> None:  # noqa: ANN001
    for field, value in values.items():
        page.fill(f"#f-{field}", value)
    for field, value in values.items():
        expect(page.locator(f"#f-{field}")).to_have_value(value)


def _tick_notice(page) -> None:  # noqa: ANN001
    """The front desk confirms the privacy notice was shown (required on every new customer)."""
    box = page.get_by_test_id("consent-step").get_by_role(
        "checkbox", name=ZH["consent.counter.notice_shown"]
    )
    if box.get_attribute("aria-checked") != "true":
        box.click()
    expect(box).to_have_attribute("aria-checked", "true")


def _saved_profile(page) -> int:  # noqa: ANN001
    _tick_notice(page)
    page.get_by_test_id("customer-save").click()
    expect(page).to_have_url(PROFILE_URL)
    return int(PROFILE_URL.search(page.url).group(1))


def _search(page, term: str):  # noqa: ANN001, ANN202
    page.fill("#customer-query", term)
    page.get_by_role("button", name=ZH["common.search"]).click()
    return page.locator("table tbody tr")


def _masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


def _assert_not_on_page(page, *secrets: str) -> None:  # noqa: ANN001
    text, html = page.locator("body").inner_text(), page.content()
    for secret in secrets:
        assert secret not in text and secret not in html, f"{secret} is on {page.url}"


def test_front_desk_creates_finds_reveals_and_edits_a_customer(app, page) -> None:  # noqa: ANN001
    phone, id_number = _unique_mobile(), _unique_id()
    frames = _record_frames(page)
    app.login(page, "frontdesk")
    page.get_by_test_id("menu-item").filter(has_text=ZH["nav.customers"]).click()
    expect(page).to_have_url(f"{app.url}/customers")
    expect(page.locator("table tbody tr").first).to_be_visible()  # the demo customers

    # 新建客户 → the profile, the phone masked
    _open_new_form(page, frames)
    _fill(page, {"name": NAME, "phone": phone, "id_number": id_number, "address": ADDRESS})
    cid = _saved_profile(page)
    expect(page.get_by_test_id("customer-name")).to_have_text(NAME)
    masked = page.get_by_test_id("masked-value")
    expect(masked.filter(has_text=_masked(phone))).to_have_count(1)
    expect(masked.filter(has_text=re.compile(r"^110\*+\d{3}[\dX]$"))).to_have_count(1)
    _assert_not_on_page(page, phone, id_number, ADDRESS)

    # the same phone again: the duplicate warning first, saved only once confirmed
    app.goto_shell(page, "/customers")
    _open_new_form(page, frames)
    _fill(page, {"name": "王测试", "phone": phone})
    _tick_notice(page)
    page.get_by_test_id("customer-save").click()
    duplicates = page.get_by_test_id("duplicates")
    expect(duplicates).to_be_visible()
    expect(duplicates.locator(f'a[href="/customers/{cid}"]')).to_contain_text(NAME)
    expect(duplicates).to_contain_text(ZH["customer.dup.phone"])
    expect(page).to_have_url(f"{app.url}/customers/new")
    assert _db(app, "SELECT count(*) FROM customers WHERE name = ?", "王测试") == [(0,)]
    page.get_by_test_id("confirm-duplicates").click()
    second = _saved_profile(page)
    assert second != cid
    expect(page.get_by_test_id("customer-name")).to_have_text("王测试")

    # the search box: the full phone and the ID number exactly, the name by a substring
    app.goto_shell(page, "/customers")
    expect(page.locator("table tbody tr").first).to_be_visible()
    rows = _search(page, phone)
    expect(rows).to_have_count(2)
    expect(rows.locator(f'a[href="/customers/{cid}"]').first).to_be_visible()
    expect(rows.locator(f'a[href="/customers/{second}"]').first).to_be_visible()
    expect(rows.first).not_to_contain_text(phone)
    rows = _search(page, id_number)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(NAME)
    expect(rows.locator(f'a[href="/customers/{cid}"]').first).to_be_visible()
    rows = _search(page, phone[:7])  # part of a phone is no lookup
    expect(page.get_by_test_id("customers-empty")).to_have_text(ZH["customers.no_match"])
    rows = _search(page, "试客")
    expect(rows.locator(f'a[href="/customers/{cid}"]').first).to_be_visible()
    expect(rows.filter(has_text=NAME).first).to_be_visible()

    # reveal the phone with a typed reason: shown in full, audited with the reason
    rows.locator(f'a[href="/customers/{cid}"]').first.click()
    expect(page).to_have_url(f"{app.url}/customers/{cid}")
    expect(page.get_by_test_id("customer-name")).to_have_text(NAME)
    expect(page.get_by_test_id("revealed-value")).to_have_count(0)
    page.get_by_test_id("reveal-phone").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(ZH["customer.reveal_notice"])
    dialog.locator("#reveal-reason").fill(REASON)
    dialog.get_by_test_id("reveal-confirm").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("revealed-value")).to_have_text(phone)
    entries = _db(
        app,
        "SELECT fields, reason, outcome FROM audit_log "
        "WHERE action = 'customer.reveal' AND customer_id = ?",
        cid,
    )
    assert len(entries) == 1 and "phone" in entries[0][0], entries
    assert entries[0][1:] == (REASON, "ok"), entries
    assert not _db(app, "SELECT seq FROM audit_log WHERE detail LIKE ?", f"%{phone}%")

    # a bad ID checksum: the message next to the field, in Chinese, and nothing saved
    app.goto_shell(page, "/customers")
    _open_new_form(page, frames)
    bad = id_number[:-1] + ("0" if id_number[-1] != "0" else "1")
    _fill(page, {"name": "李校验", "phone": _unique_mobile(), "id_number": bad})
    _tick_notice(page)
    page.get_by_test_id("customer-save").click()
    field = page.locator("div", has=page.locator("#f-id_number")).filter(
        has=page.get_by_test_id("field-error")
    )
    expect(field.last.get_by_test_id("field-error")).to_have_text(
        ZH["validation.id_number.checksum"]
    )
    expect(page.get_by_test_id("field-error")).to_have_count(1)
    expect(page).to_have_url(f"{app.url}/customers/new")
    assert _db(app, "SELECT count(*) FROM customers WHERE name = ?", "李校验") == [(0,)]

    # an edit of the address shows in the change history, masked
    app.goto_shell(page, f"/customers/{cid}")
    expect(page.get_by_test_id("customer-name")).to_have_text(NAME)
    page.get_by_role("button", name=ZH["customer.edit"]).click()
    expect(page).to_have_url(f"{app.url}/customers/{cid}/edit")
    number = _db(app, "SELECT number FROM customers WHERE id = ?", cid)[0][0]
    # the edit hint names the customer once the form is loaded (and re-keyed)
    expect(page.get_by_text(f"{ZH['customer.edit_hint']} {number}")).to_be_visible()
    address = page.locator("#f-address")
    expect(address).to_have_value("")  # a stored sensitive value never goes into the form
    expect(address).to_have_attribute("placeholder", re.compile(r"^\S+\*{4}$"))
    address.fill(NEW_ADDRESS)
    expect(address).to_have_value(NEW_ADDRESS)
    page.get_by_test_id("customer-save").click()
    expect(page).to_have_url(f"{app.url}/customers/{cid}")
    expect(page.get_by_text(ZH["customer.updated"].format(count=1))).to_be_visible()
    page.get_by_test_id("tab-history").click()
    change = page.locator("table tbody tr").filter(has_text=ZH["customer.field.address"])
    expect(change).to_have_count(2)  # the creation and the edit
    expect(change.first).to_contain_text(ADDRESS[:6] + "****")
    expect(change.first).to_contain_text(NEW_ADDRESS[:6] + "****")
    _assert_not_on_page(page, ADDRESS, NEW_ADDRESS, phone, id_number)


def test_auditor_is_sent_away_from_the_customer_list(app, page) -> None:  # noqa: ANN001
    app.login(page, "auditor")
    expect(page.get_by_test_id("menu-item").filter(has_text=ZH["nav.customers"])).to_have_count(0)
    frames = _record_frames(page)
    page.goto(f"{app.url}/customers", wait_until="commit")
    expect(page.get_by_text(ZH["error.page_denied"])).to_be_visible()
    expect(page).to_have_url(f"{app.url}/")
    expect(page.locator("table tbody tr")).to_have_count(0)
    assert frames and not [f[:200] for f in frames if '"phone"' in f or "****" in f]


def test_compliance_reads_the_list_but_may_not_reveal(app, page) -> None:  # noqa: ANN001
    app.login(page, "compliance")
    app.goto_shell(page, "/customers")
    rows = page.locator("table tbody tr")
    expect(rows.first).to_be_visible()
    with_phone = rows.filter(has_text=re.compile(r"1\d\d\*{4}\d{4}")).first
    with_phone.locator("a").first.click()
    expect(page).to_have_url(PROFILE_URL)
    expect(page.get_by_test_id("customer-name")).to_have_text(re.compile(r"\S"))
    # the page offers no reveal to a role without customer.reveal.l1 ...
    expect(page.get_by_test_id("reveal-phone")).to_have_count(0)
    expect(page.get_by_text(ZH["customer.no_reveal_permission"]).first).to_be_visible()
    expect(page.get_by_test_id("revealed-value")).to_have_count(0)
    # ... and the service refuses it anyway (tests/unit/test_permissions_table.py).


# --- acceptance: each bad value gets its message next to its field, and nothing is saved -----


def _field_error(page, field: str):  # noqa: ANN001, ANN202
    """The message inside the field's own box (label, input, message, hint)."""
    return page.get_by_test_id(f"field-{field}").get_by_test_id("field-error")


def _refused_on(page, field: str, key: str) -> None:  # noqa: ANN001
    page.get_by_test_id("customer-save").click()
    expect(_field_error(page, field)).to_have_text(ZH[key])
    expect(page.get_by_test_id("field-error")).to_have_count(1)
    expect(page.get_by_test_id("form-error")).to_have_text(ZH["form.has_errors"])
    if field != "contacts":
        expect(page.locator(f"#f-{field}")).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(re.compile(r"/customers/new$"))


def test_each_bad_value_gets_its_message_next_to_its_field_and_saves_nothing(app, page) -> None:  # noqa: ANN001
    name = "校验客户" + "".join(random.choices("甲乙丙丁戊己庚辛", k=4))
    creates = _db(app, "SELECT count(*) FROM audit_log WHERE action = 'customer.create'")
    customers_before = _db(app, "SELECT count(*) FROM customers")
    frames = _record_frames(page)
    app.login(page, "frontdesk")
    app.goto_shell(page, "/customers")
    _open_new_form(page, frames)
    good = {"name": name, "phone": _unique_mobile(), "id_number": _unique_id(), "address": ADDRESS}
    _fill(page, good)
    _tick_notice(page)
    for field, bad, key in (
        ("id_number", good["id_number"][:-1] + ("0" if good["id_number"][-1] != "0" else "1"),
         "validation.id_number.checksum"),
        ("phone", "1391234567", "validation.mobile.format"),
        ("name", "", "validation.required"),
        ("name", "张" * 101, "customer.error.max_length_100"),
        ("address", "北" * 201, "customer.error.max_length_200"),
    ):  # fmt: skip
        _fill(page, {field: bad})
        _refused_on(page, field, key)
        _fill(page, {field: good[field]})
    # an organisation: a wrong credit code, and a malformed phone of a contact person
    page.get_by_role("radio", name=ZH["customer.kind.organisation"]).click()
    expect(page.locator("#f-uscc")).to_be_visible()
    uscc = make_uscc("91110105MA01ABCDE")
    _fill(page, {"uscc": uscc[:-1] + ("0" if uscc[-1] != "0" else "1")})
    _refused_on(page, "uscc", "validation.uscc.checksum")
    _fill(page, {"uscc": ""})
    row = page.get_by_test_id("contact-row-new").first
    row.locator('input[name^="contact_name_"]').fill("王经理")
    row.locator('input[name^="contact_phone_"]').fill("1391234")
    page.get_by_test_id("customer-save").click()
    expect(row.get_by_test_id("field-error")).to_have_text(ZH["customer.error.phone_format"])
    expect(page.get_by_test_id("field-error")).to_have_count(1)

    assert _db(app, "SELECT count(*) FROM customers WHERE name = ?", name) == [(0,)]
    assert _db(app, "SELECT count(*) FROM customers") == customers_before
    assert _db(app, "SELECT count(*) FROM audit_log WHERE action = 'customer.create'") == creates


# --- acceptance: sysadmin and auditor see no customer data at all ------------------------------


@pytest.mark.parametrize("login", ["admin", "auditor"])
def test_admin_and_auditor_are_refused_every_customer_page(app, page, login: str) -> None:  # noqa: ANN001
    (cid, number, name), *_ = _db(app, "SELECT id, number, name FROM customers ORDER BY id")
    app.login(page, login)
    expect(page.get_by_test_id("menu-item").filter(has_text=ZH["nav.customers"])).to_have_count(0)
    frames = _record_frames(page)
    for path in ("/customers", f"/customers/{cid}", "/customers/new", f"/customers/{cid}/edit"):
        page.goto(f"{app.url}{path}", wait_until="commit")
        expect(page.get_by_text(ZH["error.page_denied"]).first).to_be_visible()
        expect(page).to_have_url(f"{app.url}/")
        expect(page.get_by_test_id("customer-name")).to_have_count(0)
        expect(page.locator("table tbody tr")).to_have_count(0)
    assert frames, "no websocket traffic was seen"
    leaked = [f[:300] for f in frames if number in f or name in f or "****" in f]
    assert not leaked, f"customer data reached the {login}'s browser: {leaked}"
    denied = _db(
        app,
        "SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.actor_id "
        "WHERE u.username = ? AND a.outcome = 'denied' AND a.action LIKE 'page.open:/customers%'",
        login,
    )
    assert denied[0][0] >= 4, denied


# --- contact persons of an organisation -------------------------------------------------------


def _contact_row(page, index: int, testid: str = "contact-row-new"):  # noqa: ANN001, ANN202
    return page.get_by_test_id(testid).nth(index)


def _fill_contact(row, name: str, title: str, phone: str) -> None:  # noqa: ANN001
    for part, value in (("name", name), ("title", title), ("phone", phone)):
        box = row.locator(f'input[name^="contact_{part}_"]')
        box.fill(value)
        expect(box).to_have_value(value)


def _contacts_of(app, cid: int) -> list[tuple]:  # noqa: ANN001
    return _db(
        app,
        "SELECT id, name, title, phone_bidx FROM customer_contacts WHERE customer_id = ? "
        "ORDER BY id",
        cid,
    )


def test_organisation_contacts_are_listed_masked_changed_added_and_removed(app, page) -> None:  # noqa: ANN001
    org = "通讯测试有限公司" + "".join(random.choices("甲乙丙丁戊己庚辛", k=3))
    phones = [_unique_mobile() for _ in range(3)]
    frames = _record_frames(page)
    app.login(page, "frontdesk")
    app.goto_shell(page, "/customers")

    # created with two contact persons (the second row added on the form)
    _open_new_form(page, frames)
    page.get_by_role("radio", name=ZH["customer.kind.organisation"]).click()
    _fill(page, {"name": org})
    _fill_contact(_contact_row(page, 0), "王经理", "采购", phones[0])
    page.get_by_test_id("contact-add").click()
    expect(page.get_by_test_id("contact-row-new")).to_have_count(2)
    _fill_contact(_contact_row(page, 1), "李会计", "财务", phones[1])
    cid = _saved_profile(page)
    for phone in phones[:2]:
        expect(page.get_by_text(_masked(phone))).to_be_visible()
    (wang_id, *_), (li_id, *_) = _contacts_of(app, cid)

    # the edit form lists them: names and titles filled in, phones only as masked placeholders
    page.get_by_role("button", name=ZH["customer.edit"]).click()
    expect(page).to_have_url(f"{app.url}/customers/{cid}/edit")
    stored = page.get_by_test_id("contact-row-stored")
    expect(stored).to_have_count(2)
    wang, li = stored.nth(0), stored.nth(1)
    expect(wang.locator('input[name^="contact_name_"]')).to_have_value("王经理")
    expect(wang.locator('input[name^="contact_title_"]')).to_have_value("采购")
    phone_box = wang.locator('input[name^="contact_phone_"]')
    expect(phone_box).to_have_value("")
    expect(phone_box).to_have_attribute("placeholder", _masked(phones[0]))
    expect(page.get_by_text(ZH["customer.contact.keep_phone"])).to_be_visible()
    _assert_not_on_page(page, *phones[:2])
    assert not [f[:200] for f in frames if phones[0] in f or phones[1] in f]

    # change a title (phone kept), remove 李会计, add a new person
    wang.locator('input[name^="contact_title_"]').fill("采购总监")
    li.get_by_test_id("contact-remove").click()
    expect(stored).to_have_count(1)
    expect(wang.locator('input[name^="contact_title_"]')).to_have_value("采购总监")
    page.get_by_test_id("contact-add").click()
    _fill_contact(_contact_row(page, 0), "孙工", "技术", phones[2])
    page.get_by_test_id("customer-save").click()
    expect(page).to_have_url(f"{app.url}/customers/{cid}")
    expect(page.get_by_text(ZH["customer.updated"].format(count=1))).to_be_visible()
    expect(page.get_by_text(_masked(phones[2]))).to_be_visible()
    expect(page.get_by_text(_masked(phones[1]))).to_have_count(0)
    contacts = _contacts_of(app, cid)
    assert [c[:3] for c in contacts] == [
        (wang_id, "王经理", "采购总监"),
        (contacts[1][0], "孙工", "技术"),
    ]
    assert li_id not in [c[0] for c in contacts]

    # every change is in the history, phones masked
    page.get_by_test_id("tab-history").click()
    changes = page.locator("table tbody tr").filter(has_text=ZH["customer.field.contacts"])
    expect(changes).to_have_count(2 + 3)  # two on creation; changed, removed, added
    expect(changes.filter(has_text="采购总监")).to_contain_text(_masked(phones[0]))
    expect(changes.filter(has_text="孙工")).to_contain_text(_masked(phones[2]))
    _assert_not_on_page(page, *phones)

    # exact lookup by a contact's phone follows the edit
    app.goto_shell(page, "/customers")
    expect(page.locator("table tbody tr").first).to_be_visible()
    rows = _search(page, phones[2])
    expect(rows).to_have_count(1)
    expect(rows.locator(f'a[href="/customers/{cid}"]').first).to_be_visible()
    _search(page, phones[1])
    expect(page.get_by_test_id("customers-empty")).to_have_text(ZH["customers.no_match"])
    rows = _search(page, phones[0])
    expect(rows.locator(f'a[href="/customers/{cid}"]').first).to_be_visible()

    # the contacts are the only way to reach this customer: removing them all is refused
    app.goto_shell(page, f"/customers/{cid}/edit")
    stored = page.get_by_test_id("contact-row-stored")
    expect(stored).to_have_count(2)
    before = _contacts_of(app, cid)
    for left in (1, 0):
        stored.first.get_by_test_id("contact-remove").click()
        expect(stored).to_have_count(left)
    page.get_by_test_id("customer-save").click()
    expect(_field_error(page, "contacts")).to_have_text(ZH["customer.error.contact_required"])
    expect(_field_error(page, "phone")).to_have_text(ZH["customer.error.contact_required"])
    expect(page).to_have_url(f"{app.url}/customers/{cid}/edit")
    assert _contacts_of(app, cid) == before
