"""Every service operation × every role: refused (and audited) exactly when the role lacks the
permission (SPEC §1: every check happens on the server, in the service layer).

A new @requires operation without an entry in FACTORIES fails test_every_operation_has_a_factory,
so no operation can skip this table.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

import custapp.services
from custapp import clock
from custapp.db import session_scope
from custapp.models import AuditEntry, Store, User, UserRole
from custapp.security.permissions import ALL_ROLES, MEMBER, ROLE_PERMISSIONS
from custapp.services import audit, customer_search, customers, outbox
from custapp.services.actor import Actor, system_actor
from custapp.services.errors import PermissionDenied
from custapp.services.guard import OPERATIONS

SERVICE_MODULES = {
    name: importlib.import_module(f"custapp.services.{name}")
    for _, name, _ in pkgutil.iter_modules(custapp.services.__path__)
}


@dataclass(frozen=True)
class World:
    """What the operations act on: a target staff user, a store, the acting user."""

    target_id: int
    store_id: int
    actor_id: int
    role: str


# operation -> kwargs for a valid call (besides session and actor); may add rows it needs
FACTORIES: dict[str, Callable[[Session, World], dict]] = {
    "users.list_users": lambda s, w: {"query": "", "page": 1},
    "users.create_user": lambda s, w: {
        "username": f"new.{w.role}",
        "display_name": "New",
        "roles": ["front_desk"],
        "store_ids": [w.store_id],
    },
    "users.set_roles": lambda s, w: {"user_id": w.target_id, "roles": ["cs_manager"]},
    "users.set_stores": lambda s, w: {"user_id": w.target_id, "store_ids": [w.store_id]},
    "users.set_active": lambda s, w: {"user_id": w.target_id, "active": False},
    "users.reset_password": lambda s, w: {"user_id": w.target_id},
    "users.list_stores": lambda s, w: {},
    "stores.create_store": lambda s, w: {"code": f"S-{w.role.upper()[:8]}", "name": "分店"},
    "audit_check.check_chain": lambda s, w: {},
    "audit.list_entries": lambda s, w: {"filters": audit.AuditFilter(), "page": 1},
    "outbox.list_inbox": lambda s, w: {"page": 1},
    "outbox.mark_read": lambda s, w: {
        "message_id": outbox.queue_message(
            s,
            channel="in_app",
            purpose="staff_alert",
            subject="hello",
            body="world",
            user_id=w.actor_id,
        )
    },
    "customer_search.search_customers": lambda s, w: {
        "query": "13800138000",
        "filters": customer_search.CustomerFilter(),
    },
    "customer_search.list_tags": lambda s, w: {},
    "customer_search.duplicate_groups": lambda s, w: {"page": 1},
    "customers.create_customer": lambda s, w: {"data": _new_customer()},
    "customers.find_duplicates": lambda s, w: {"data": _new_customer()},
    "customers.update_customer": lambda s, w: {
        "customer_id": _customer(s),
        "data": customers.CustomerInput(name="李四", phone="13800138001"),
    },
    "customers.set_verification": lambda s, w: {
        "customer_id": _customer(s),
        "status": "verified",
        "method": "id_card_at_counter",
    },
    "customers.override_grade": lambda s, w: {
        "customer_id": _customer(s),
        "grade": "A",
        "reason": "年度大客户",
    },
    "customer_profile.get_profile": lambda s, w: {"customer_id": _customer(s)},
    "customer_profile.reveal_field": lambda s, w: {
        "customer_id": _customer(s),
        "field": "phone",
        "reason": "回电确认预订",
    },
    "customer_profile.change_history": lambda s, w: {"customer_id": _customer(s)},
    "customer_profile.list_stale_verification": lambda s, w: {"page": 1},
    # --- orders and classification ---
    "orders.post_purchase": lambda s, w: {
        "customer_id": _customer(s),
        "lines": [("美式咖啡", 2, 1800)],
        "payments": [("wechat", 3600)],
    },
    "orders.post_refund": lambda s, w: {
        "order_id": SERVICE_MODULES["orders"]
        .post_purchase(
            s,
            actor=system_actor("test"),
            customer_id=_customer(s),
            lines=[("美式咖啡", 1, 1800)],
            payments=[("cash", 1800)],
        )
        .id,
        "amount_fen": 800,
        "payments": [("cash", 800)],
        "reason": "商品退货",
    },
    "orders.list_orders": lambda s, w: {"customer_id": _customer(s), "page": 1},
    "orders.void_purchase": lambda s, w: {"order_id": _purchase(s), "reason": "录错金额"},
    # --- membership, stored value and points ---
    "membership.customer_membership": lambda s, w: {"customer_id": _customer(s)},
    "membership.member_summary": lambda s, w: {MEMBER_CUSTOMER: _customer(s)},
    "membership.find_card": lambda s, w: {"number": _card(s).number},
    "membership.stored_value_ledger": lambda s, w: {"customer_id": _customer(s)},
    "membership.points_ledger": lambda s, w: {"customer_id": _customer(s)},
    "membership.member_stored_value_ledger": lambda s, w: {MEMBER_CUSTOMER: _customer(s)},
    "membership.member_points_ledger": lambda s, w: {MEMBER_CUSTOMER: _customer(s)},
    "membership.issue_card": lambda s, w: {
        "customer_id": _customer(s),
        "tier_code": "silver",
        "application_signed": True,
        "first_topup_fen": 10000,
        "topup_method": "cash",
        "fee_method": "cash",
    },
    "membership.upgrade_card": lambda s, w: {
        "card_id": _card(s).id,
        "tier_code": "gold",
        "signature_confirmed": True,
        "topup_fen": 50000,
        "topup_method": "cash",
        "fee_method": "wechat",
    },
    "membership.replace_lost_card": lambda s, w: {"card_id": _card(s).id, "identity_checked": True},
    "membership.close_card": lambda s, w: {
        "card_id": _card(s).id,
        "refund_method": "cash",
        "reason": "客户退卡",
    },
    "membership.topup": lambda s, w: {"card_id": _card(s).id, "amount_fen": 5000, "method": "cash"},
    "membership.update_tier": lambda s, w: {
        "code": "gold",
        "name_zh": "金卡",
        "name_en": "Gold",
        "discount_pct": 85,
        "min_first_topup_fen": 50000,
        "card_fee_fen": 2000,
    },
    "member_access.issue_code": lambda s, w: {
        "customer_id": customers.create_customer(
            s,
            actor=system_actor("test"),
            data=customers.CustomerInput(name="王五", phone=f"1370013{w.actor_id:04d}"),
        ).id,
        "identity_checked": True,
    },
    "care.care_calendar": lambda s, w: {"occasion": "birthday", "days": 7},
    "care.queue_greetings": lambda s, w: {
        "occasion": "birthday",
        "on": clock.local_today(),
        "subject": "生日快乐",
        "body": "祝您生日快乐！回复T退订",
    },
    "care.start_greetings": lambda s, w: {
        "occasion": "birthday",
        "on": clock.local_today(),
        "subject": "生日快乐",
        "body": "祝您生日快乐！回复T退订",
    },
    "care.greeting_job": lambda s, w: {},
    "member_access.portal_status": lambda s, w: {"customer_id": _customer(s)},
    "points.adjust_points": lambda s, w: {
        "customer_id": _customer(s),
        "points": 100,
        "reason": "活动赠送积分",
    },
    "classification.reclassify_now": lambda s, w: {},
    # --- gifts and redemption ---
    "gifts.create_gift": lambda s, w: {
        "name_zh": "保温杯",
        "name_en": "Vacuum flask",
        "points_cost": 100,
        "stock": 5,
    },
    "gifts.update_gift": lambda s, w: {
        "gift_id": _gift(s),
        "name_zh": "保温杯",
        "name_en": "Vacuum flask",
        "points_cost": 120,
        "stock": 4,
    },
    "gifts.list_gifts": lambda s, w: {},
    "gifts.member_catalogue": lambda s, w: {MEMBER_CUSTOMER: _customer(s)},
    "gifts.file_request": lambda s, w: {
        "customer_id": _customer_with_points(s),
        "gift_id": _gift(s),
    },
    "gifts.member_file_request": lambda s, w: {
        MEMBER_CUSTOMER: _customer_with_points(s),
        "gift_id": _gift(s),
    },
    "gifts.approve": lambda s, w: {"request_id": _redemption_request(s)},
    "gifts.reject": lambda s, w: {"request_id": _redemption_request(s), "reason": "礼品暂停兑换"},
    "gifts.member_cancel_request": lambda s, w: _own_redemption_request(s),
    "gifts.pending_requests": lambda s, w: {"page": 1},
    "gifts.customer_requests": lambda s, w: {"customer_id": _customer(s)},
    "gifts.member_requests": lambda s, w: {MEMBER_CUSTOMER: _customer(s)},
    # --- service log and follow-ups ---
    "service_log.add_entry": lambda s, w: {
        "customer_id": _customer(s),
        "kind": "call",
        "content": "电话回访，客户对服务满意",
    },
    "service_log.list_entries": lambda s, w: {"customer_id": _customer(s)},
    "service_log.complete_follow_up": lambda s, w: {
        # the acting user's own follow-up: only the permission decides
        "entry_id": SERVICE_MODULES["service_log"].add_entry(
            s,
            actor=Actor(user_id=w.actor_id, name="owner", roles=frozenset({"front_desk"})),
            customer_id=_customer(s),
            kind="call",
            content="约定下周回访",
            next_follow_up=clock.local_today(),
        )
    },
    "service_log.my_follow_ups": lambda s, w: {"page": 1},
    # --- attachments ---
    "attachments.add_attachment": lambda s, w: {
        "customer_id": _customer(s),
        "category": "contract",
        "paper_location": "档案室 1 号柜",
    },
    "attachments.list_attachments": lambda s, w: {"customer_id": _customer(s)},
    "attachments.open_attachment": lambda s, w: {
        "attachment_id": SERVICE_MODULES["attachments"]
        .add_attachment(
            s,
            actor=system_actor("test"),
            customer_id=_customer(s),
            category="id_copy",
            filename="id.png",
            content=b"\x89PNG\r\n\x1a\n" + bytes(24),
        )
        .id,
        "reason": "核实客户身份",
    },
    # --- merge and data quality ---
    "merge.merge_customers": lambda s, w: {
        "survivor_id": _customer(s),
        "merged_id": _customer(s),
        "reason": "同一客户重复建档",
    },
    "merge.merge_preview": lambda s, w: {"survivor_id": _customer(s), "merged_id": _customer(s)},
    "merge.duplicate_review": lambda s, w: {"page": 1},
    # --- consent core ---
    "consent.record_consents": lambda s, w: {
        "customer_id": _customer(s),
        "choices": {"marketing_sms": "grant", "analytics": "refuse"},
        "evidence_ref": "F-2026-001",
    },
    "consent.member_record_consents": lambda s, w: {
        MEMBER_CUSTOMER: _customer(s),
        "choices": {"care": "grant"},
    },
    "consent.withdraw_consent": lambda s, w: {
        "customer_id": _granted(s, "care"),
        "purpose": "care",
    },
    "consent.member_withdraw_consent": lambda s, w: {
        MEMBER_CUSTOMER: _granted(s, "care"),
        "purpose": "care",
    },
    "consent.consent_states": lambda s, w: {"customer_id": _customer(s)},
    "consent.member_consent_states": lambda s, w: {MEMBER_CUSTOMER: _customer(s)},
    "consent.consent_events": lambda s, w: {"customer_id": _customer(s)},
    "consent.publish_notice": lambda s, w: {"notice_id": _draft_notice(s)},
    # --- consent: marketing lists ---
    "marketing.list_purposes": lambda s, w: {},
    "marketing.build_list": lambda s, w: {
        "segment": SERVICE_MODULES["marketing"].Segment(),
        "purpose": "marketing_sms",
    },
    "marketing.start_campaign": lambda s, w: {
        # everybody: one customer (with a phone) granted marketing by SMS, so the list is not empty
        "segment": _granted(s, "marketing_sms") and SERVICE_MODULES["marketing"].Segment(),
        "purpose": "marketing_sms",
        "subject": "春季新品品鉴会",
        "body": "本周六春季新品品鉴会，欢迎光临。回复T退订",
    },
    "marketing.list_campaigns": lambda s, w: {"page": 1},
    "marketing.campaign_job": lambda s, w: {},
    # --- backups (issue 16, BP) ---
    "backup_runs.list_runs": lambda s, w: {"page": 1},
    "backup_runs.last_verified": lambda s, w: {},
    "backup_runs.backup_status": lambda s, w: {},
    "backup_runs.current_job": lambda s, w: {},
    "backup_runs.queue_backup": lambda s, w: {},
    "backup_runs.queue_verify": lambda s, w: {"file_name": _backup_file()},
    # the 任务 page (issue 17)
    "scheduler.step_overview": lambda s, w: {},
    "scheduler.list_runs": lambda s, w: {"page": 1},
    "scheduler.get_run": lambda s, w: {"job_id": 1},
    "scheduler.run_now": lambda s, w: {"step": "birthday_index"},
    # --- consent: provision ---
    "provision.add_recipient": lambda s, w: {
        "name": f"新接收方 {w.role}",
        "nda_reference": "NDA-1",
        "nda_signed_on": clock.local_today(),
        "oversight_note": "每季度检查",
    },
    "provision.update_recipient": lambda s, w: {
        "recipient_id": _provision_recipient(s, w),
        "name": f"改名接收方 {w.role}",
        "nda_reference": "NDA-2",
        "nda_signed_on": clock.local_today(),
        "oversight_note": "每季度检查",
    },
    "provision.set_recipient_active": lambda s, w: {
        "recipient_id": _provision_recipient(s, w),
        "active": False,
    },
    "provision.list_recipients": lambda s, w: {"page": 1},
    "provision.recipient_choices": lambda s, w: {},
    "provision.purpose_choices": lambda s, w: {},
    "provision.create_provision": lambda s, w: _provision_input(s, w),
    "provision.list_provisions": lambda s, w: {"page": 1},
    "provision.provision_customers": lambda s, w: {
        "provision_id": SERVICE_MODULES["provision"]
        .create_provision(s, actor=system_actor("test"), **_provision_input(s, w))
        .provision.id
    },
    "provision.record_disclosure": lambda s, w: {
        "customer_number": _number(s, _customer(s)),
        "authority": "某区公安分局",
        "legal_basis": "《刑事诉讼法》第五十四条",
        "document_reference": "调证字〔2026〕1号",
        "categories": ["basic"],
        "disclosed_on": clock.local_today(),
        "harm_note": "仅提供所列信息",
    },
    "provision.list_disclosures": lambda s, w: {"page": 1},
    # --- consent: rights requests ---
    "rights.file_request": lambda s, w: {
        "customer_id": _customer(s),
        "kind": "copy",
        "channel": "counter",
        "detail": "要求提供本人消费记录副本",
    },
    "rights.member_file_request": lambda s, w: {
        MEMBER_CUSTOMER: _customer(s),
        "kind": "explanation",
        "detail": "请说明我的消费记录保存多久",
    },
    "rights.list_filed": lambda s, w: {"page": 1},
    "rights.list_requests": lambda s, w: {"status": "active", "overdue_only": True},
    "rights.get_request": lambda s, w: {
        "request_id": SERVICE_MODULES["rights"]
        .file_request(
            s,
            actor=system_actor("test"),
            customer_id=_customer(s),
            kind="correction",
            channel="letter",
            detail="来信提出个人信息权利请求",
        )
        .id
    },
    "rights.list_handlers": lambda s, w: {},
    "rights.assign": lambda s, w: {
        "request_id": SERVICE_MODULES["rights"]
        .file_request(
            s,
            actor=system_actor("test"),
            customer_id=_customer(s),
            kind="deletion",
            channel="letter",
            detail="来信提出个人信息权利请求",
        )
        .id
    },
    "rights.close_request": lambda s, w: {
        "request_id": SERVICE_MODULES["rights"]
        .file_request(
            s,
            actor=system_actor("test"),
            customer_id=_customer(s),
            kind="explanation",
            channel="letter",
            detail="来信提出个人信息权利请求",
        )
        .id,
        "status": "done",
        "outcome": "已电话说明保存期限",
    },
    "rights.member_list_requests": lambda s, w: {MEMBER_CUSTOMER: _customer(s)},
    # --- erasure on request (issue 16, ER) ---
    "erasure.deletion_review": lambda s, w: {"request_id": _deletion_request(s)},
    "erasure.accept_deletion": lambda s, w: {"request_id": _deletion_request(s)},
    "erasure.member_overview": lambda s, w: {MEMBER_CUSTOMER: _customer(s)},
    "copy_bundle.build_copy": lambda s, w: {
        "request_id": SERVICE_MODULES["rights"]
        .file_request(
            s,
            actor=system_actor("test"),
            customer_id=_customer(s),
            kind="copy",
            channel="letter",
            detail="来信提出个人信息权利请求",
        )
        .id
    },
    "copy_bundle.member_build_copy": lambda s, w: {MEMBER_CUSTOMER: _customer(s)},
    # --- consent: compliance page ---
    "compliance.overview": lambda s, w: {},
    "compliance.list_purposes": lambda s, w: {},
    "compliance.update_purpose": lambda s, w: {
        "code": "analytics",
        "name_zh": "分析与画像",
        "name_en": "Analytics and profiling",
        "description_zh": "",
        "description_en": "",
        "lawful_basis": "consent",
        "enabled": False,
    },
    "compliance.list_notices": lambda s, w: {"page": 1},
    "compliance.get_notice": lambda s, w: {"notice_id": _draft_notice(s)},
    "compliance.create_draft": lambda s, w: {},
    "compliance.update_draft": lambda s, w: {
        "notice_id": _draft_notice(s),
        "handler_zh": "本店",
        "handler_en": "This shop",
        "body_zh": "可随时撤回同意。",
        "body_en": "You may withdraw consent at any time.",
        "purposes": ["marketing_sms"],
    },
    "compliance.discard_draft": lambda s, w: {"notice_id": _draft_notice(s)},
    "compliance.publish_preview": lambda s, w: {"notice_id": _draft_notice(s)},
    "compliance.publish_draft": lambda s, w: {"notice_id": _draft_notice(s)},
    # --- portal privacy (issue 5) ---
    "customer_profile.member_profile": lambda s, w: {MEMBER_CUSTOMER: _customer(s)},
    # --- receipts and tiers (issue 5) ---
    "orders.order_receipt": lambda s, w: {
        "number": SERVICE_MODULES["orders"]
        .post_purchase(
            s,
            actor=system_actor("test"),
            customer_id=_customer(s),
            lines=[("美式咖啡", 1, 1800)],
            payments=[("cash", 1800)],
        )
        .number
    },
    "membership.topup_receipt": lambda s, w: {
        "number": SERVICE_MODULES["membership"]
        .topup(s, actor=system_actor("test"), card_id=_card(s).id, amount_fen=5000, method="cash")
        .number
    },
    # --- approvals (issue 5) ---
    "approvals.request_void": lambda s, w: {"order_id": _purchase(s), "reason": "录错金额"},
    "approvals.request_refund": lambda s, w: {
        "order_id": _purchase(s),
        "amount_fen": 1800,
        "payments": [("cash", 1800)],
        "reason": "商品退货",
    },
    "approvals.request_points_adjustment": lambda s, w: {
        "customer_id": _customer(s),
        "points": 50,
        "reason": "活动补发积分",
    },
    "approvals.approve": lambda s, w: {"request_id": _void_request(s, w.target_id)},
    "approvals.reject": lambda s, w: {
        "request_id": _void_request(s, w.target_id),
        "reason": "金额无误",
    },
    "approvals.cancel": lambda s, w: {"request_id": _void_request(s, w.actor_id)},
    "approvals.inbox": lambda s, w: {"page": 1},
    "approvals.customer_pending": lambda s, w: {"customer_id": _customer(s)},
    # --- complaints (issue 6) ---
    "approvals.request_compensation": lambda s, w: {
        "complaint_id": _complaint(s),
        "form": "points",
        "points": 100,
        "reason": "致歉补偿",
    },
    "complaints.file_complaint": lambda s, w: {
        "customer_id": _customer(s),
        "channel": "counter",
        "category": "service",
        "severity": "normal",
        "description": "服务态度差",
    },
    "complaints.member_file_complaint": lambda s, w: {
        MEMBER_CUSTOMER: _customer(s),
        "category": "billing",
        "description": "积分未到账",
    },
    "complaints.move": lambda s, w: {"complaint_id": _complaint(s), "to_status": "investigating"},
    "complaints.add_note": lambda s, w: {"complaint_id": _complaint(s), "body": "已致电客户"},
    "complaints.hold": lambda s, w: {"complaint_id": _complaint(s)},
    "complaints.resume": lambda s, w: {"complaint_id": _complaint(s, held=True)},
    "complaints.assign": lambda s, w: {
        "complaint_ids": [_complaint(s)],
        "assignee_id": w.target_id,
    },
    "complaints.close": lambda s, w: {
        "complaint_id": _complaint(s, steps=CLOSABLE),
        "root_cause": "收银失误",
        "solution": "退款致歉",
        "informed_on": clock.local_today(),
        "informed_via": "phone",
        "satisfaction": 4,
    },
    "complaints.reopen": lambda s, w: {
        "complaint_id": _closed_complaint(s),
        "note": "客户再次反映",
    },
    "complaints.member_rate": lambda s, w: _own_complaint(s, score=5),
    "complaints.get_complaint": lambda s, w: {"complaint_id": _complaint(s)},
    "complaints.customer_complaints": lambda s, w: {"customer_id": _customer(s)},
    "complaints.member_complaints": lambda s, w: {MEMBER_CUSTOMER: _customer(s)},
    "complaints.member_complaint": lambda s, w: _own_complaint(s),
    "complaints.queue": lambda s, w: {"filters": SERVICE_MODULES["complaints"].QueueFilter()},
    # --- complaint pages (issue 6) ---
    "complaints.handlers": lambda s, w: {},
    "complaints.my_complaints": lambda s, w: {"page": 1},
    # --- complaint review (issue 6) ---
    "complaint_reports.kpis": lambda s, w: {"days": 30},
    # --- complaint attachments (issue 6) ---
    "complaint_attachments.add_complaint_attachment": lambda s, w: {
        "complaint_id": _complaint(s),
        "filename": "破损照片.jpg",
        "content": JPEG,
    },
    "complaint_attachments.list_complaint_attachments": lambda s, w: {
        "complaint_id": _complaint(s)
    },
    "complaint_attachments.open_complaint_attachment": lambda s, w: {
        "attachment_id": SERVICE_MODULES["complaint_attachments"].add_complaint_attachment(
            s,
            actor=system_actor("test"),
            complaint_id=_complaint(s),
            filename="小票.jpg",
            content=JPEG,
        )  # fmt: skip
    },
    "complaint_attachments.member_add_attachment": lambda s, w: {
        **_own_complaint(s),
        "filename": "破损照片.jpg",
        "content": JPEG,
    },
    "complaint_attachments.member_attachments": lambda s, w: _own_complaint(s),
    "complaint_attachments.member_open_attachment": lambda s, w: _own_complaint_attachment(s, w),
    # --- retention rules (issue 16, RT) ---
    "retention.list_rules": lambda s, w: {},
    "retention.list_changes": lambda s, w: {"page": 1},
    "retention.propose_change": lambda s, w: _retention_proposal(s),
    "retention.decide_change": lambda s, w: {
        "change_id": _retention_change(s, w),
        "approve": True,
    },
    # --- destruction (issue 16, DS) ---
    "destruction.propose": lambda s, w: {
        "customer_id": _customer(s),
        "reason_kind": "manual",
        "note": "合同终止",
    },
    "destruction.propose_manual": lambda s, w: {
        "customer_number": _number(s, _customer(s)),
        "note": "合同终止",
    },
    "destruction.appraise": lambda s, w: {
        "candidate_id": _destruction_candidate(s, w),
        "decision": "destroy",
    },
    "destruction.approve": lambda s, w: {
        "candidate_id": _destruction_candidate(s, w, appraised=True)
    },
    "destruction.reject": lambda s, w: {
        "candidate_id": _destruction_candidate(s, w),
        "note": "仍需保存",
    },
    "destruction.approve_many": lambda s, w: {
        "candidate_ids": [_destruction_candidate(s, w, appraised=True)]
    },
    "destruction.set_hold": lambda s, w: {
        "customer_number": _number(s, _customer(s)),
        "reason": "诉讼案件",
    },
    "destruction.release_hold": lambda s, w: {
        "hold_id": SERVICE_MODULES["destruction"].set_hold(
            s,
            actor=system_actor("test"),
            customer_number=_number(s, _customer(s)),
            reason="诉讼案件",
        ),
        "reason": "案件已结",
    },
    "destruction_views.list_queue": lambda s, w: {"status": "open"},
    "destruction_views.list_register": lambda s, w: {"page": 1},
    "destruction_views.register_status": lambda s, w: {},
    "destruction_views.list_holds": lambda s, w: {"active_only": False},
}

# A factory of a member's own operation returns the member's customer under this key: the
# acting member is linked to it (as the portal's login is), and it is not passed to the call.
MEMBER_CUSTOMER = "_member_customer_id"

# Operations that check a second permission once the first passed (which one may depend on the
# arguments: reveal_field needs customer.reveal.l<level> of the field the factory names).
SECOND_PERMISSIONS: dict[str, str] = {
    "customer_profile.reveal_field": "customer.reveal.l1",
    "approvals.approve": "purchase.void",  # the request is a void
    "erasure.accept_deletion": "destruction.appraise",  # it proposes the destruction
}


def _backup_file() -> str:
    """A file in the backup folder for a verification to name (issue 16, BP)."""
    from custapp.settings import get_settings

    folder = get_settings().backup_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "custapp-sqlite-20260101T000000Z.cab").write_bytes(b"backup")
    return "custapp-sqlite-20260101T000000Z.cab"


def _new_customer() -> customers.CustomerInput:
    return customers.CustomerInput(name="张三", phone="13800138000")


def _customer(session: Session) -> int:
    return customers.create_customer(session, actor=system_actor("test"), data=_new_customer()).id


def _deletion_request(session: Session) -> int:
    """A deletion request filed by letter for a new customer (issue 16, ER)."""
    return (
        SERVICE_MODULES["rights"]
        .file_request(
            session,
            actor=system_actor("test"),
            customer_id=_customer(session),
            kind="deletion",
            channel="letter",
            detail="来信要求删除本人全部个人信息",
        )
        .id
    )


def _card(session: Session):  # noqa: ANN202 (membership.CardView)
    """A silver card with ¥200 of stored value on a new customer."""
    return (
        SERVICE_MODULES["membership"]
        .issue_card(
            session,
            actor=system_actor("test"),
            customer_id=_customer(session),
            tier_code="silver",
            application_signed=True,
            first_topup_fen=20000,
            topup_method="cash",
            fee_method="cash",
        )
        .card
    )


def _customer_with_points(session: Session, amount: int = 1000) -> int:
    customer_id = _customer(session)
    SERVICE_MODULES["points"].adjust_points(
        session, actor=system_actor("test"), customer_id=customer_id, points=amount,
        reason="活动赠送积分",
    )  # fmt: skip
    return customer_id


def _gift(session: Session) -> int:
    return (
        SERVICE_MODULES["gifts"]
        .create_gift(
            session,
            actor=system_actor("test"),
            name_zh="保温杯",
            name_en="Vacuum flask",
            points_cost=100,
            stock=5,
        )  # fmt: skip
        .id
    )


def _redemption_request(session: Session, customer_id: int | None = None) -> int:
    """A pending request for one gift of 100 points by a customer holding 1,000."""
    return (
        SERVICE_MODULES["gifts"]
        .file_request(
            session,
            actor=system_actor("test"),
            customer_id=customer_id or _customer_with_points(session),
            gift_id=_gift(session),
        )  # fmt: skip
        .id
    )


def _purchase(session: Session) -> int:
    return (
        SERVICE_MODULES["orders"]
        .post_purchase(
            session,
            actor=system_actor("test"),
            customer_id=_customer(session),
            lines=[("美式咖啡", 1, 1800)],
            payments=[("cash", 1800)],
        )
        .id
    )


def _void_request(session: Session, user_id: int) -> int:
    """A pending void of today's purchase, asked by the user `user_id`."""
    asker = Actor(user_id=user_id, name="asker", kind="staff", roles=frozenset({"front_desk"}))
    return (
        SERVICE_MODULES["approvals"]
        .request_void(session, actor=asker, order_id=_purchase(session), reason="录错金额")
        .id
    )


CLOSABLE = ("investigating", "solution_proposed", "customer_informed", "return_visit")


def _complaint(
    session: Session, customer_id: int | None = None, *, steps: tuple = (), held: bool = False
) -> int:
    """A complaint filed at the counter and moved through `steps` (or put on hold)."""
    complaints = SERVICE_MODULES["complaints"]
    system = system_actor("test")
    complaint_id = complaints.file_complaint(
        session, actor=system, customer_id=customer_id or _customer(session), channel="counter",
        category="service", severity="normal", description="服务态度差",
    ).id  # fmt: skip
    for step in steps:
        complaints.move(session, actor=system, complaint_id=complaint_id, to_status=step)
    if held:
        complaints.hold(session, actor=system, complaint_id=complaint_id)
    return complaint_id


def _closed_complaint(session: Session) -> int:
    complaint_id = _complaint(session, steps=CLOSABLE)
    SERVICE_MODULES["complaints"].close(
        session, actor=system_actor("test"), complaint_id=complaint_id, root_cause="收银失误",
        solution="退款致歉", informed_on=clock.local_today(), informed_via="phone",
        satisfaction=4,
    )  # fmt: skip
    return complaint_id


def _own_complaint(session: Session, **more) -> dict:  # noqa: ANN003
    customer_id = _customer(session)
    steps = CLOSABLE[:3] if more else ()
    return {
        MEMBER_CUSTOMER: customer_id,
        "complaint_id": _complaint(session, customer_id, steps=steps),
        **more,
    }


JPEG = b"\xff\xd8\xff\xe0" + b"pixels" * 8


def _own_complaint_attachment(session: Session, world: World) -> dict:
    """A file the member added to their own complaint in the portal."""
    own = _own_complaint(session)
    member = Actor(
        user_id=world.actor_id, name="member", kind="member", roles=frozenset({MEMBER}),
        customer_id=own[MEMBER_CUSTOMER],
    )  # fmt: skip
    attachment_id = SERVICE_MODULES["complaint_attachments"].member_add_attachment(
        session, actor=member, complaint_id=own["complaint_id"], filename="小票.jpg", content=JPEG
    )
    return {MEMBER_CUSTOMER: own[MEMBER_CUSTOMER], "attachment_id": attachment_id}


def _own_redemption_request(session: Session) -> dict:
    customer_id = _customer_with_points(session)
    return {
        MEMBER_CUSTOMER: customer_id,
        "request_id": _redemption_request(session, customer_id),
    }


def _granted(session: Session, purpose: str) -> int:
    """A customer who granted `purpose` at the counter."""
    customer_id = _customer(session)
    SERVICE_MODULES["consent"].record_consents(
        session,
        actor=system_actor("test"),
        customer_id=customer_id,
        choices={purpose: "grant"},
        evidence_ref="F-1",
    )
    return customer_id


def _draft_notice(session: Session) -> int:
    from custapp.models import PrivacyNotice

    current = SERVICE_MODULES["consent"].current_notice(session)
    top = session.exec(select(func.max(PrivacyNotice.version))).scalar_one()
    draft = PrivacyNotice(
        version=top + 1,
        handler_zh=current.handler_zh,
        handler_en=current.handler_en,
        body_zh=current.body_zh,
        body_en=current.body_en,
        purposes=current.purposes,
        created_at=clock.now(),
    )
    session.add(draft)
    session.flush()
    return draft.id


def _retention_proposal(session: Session) -> dict:
    """A change of the service log's rule: a month longer than it is now."""
    rule = SERVICE_MODULES["retention"].period_for(session, "service_log")
    return {
        "category": "service_log",
        "period_months": rule.period_months + 1,
        "action": rule.action,
        "basis": rule.basis,
    }


def _retention_change(session: Session, world: World) -> int:
    """A pending change proposed by another compliance user (the decider never proposed it)."""
    from custapp.models import RetentionChange

    pending = session.exec(
        select(RetentionChange.id).where(RetentionChange.status == "pending")
    ).scalar_one_or_none()
    if pending is not None:
        return pending
    proposer_id = _user(session, f"proposer.{world.role}", "compliance")
    proposer = Actor(user_id=proposer_id, name="proposer", roles=frozenset({"compliance"}))
    return (
        SERVICE_MODULES["retention"]
        .propose_change(session, actor=proposer, **_retention_proposal(session))
        .id
    )


def _destruction_candidate(session: Session, world: World, *, appraised: bool = False) -> int:
    """A queued candidate for a new customer (appraised: by another compliance user, so the
    acting user may approve it)."""
    destruction = SERVICE_MODULES["destruction"]
    candidate_id = destruction.propose(
        session, actor=system_actor("test"), customer_id=_customer(session),
        reason_kind="manual", note="合同终止",
    )  # fmt: skip
    if appraised:
        appraiser_id = _user(session, f"appraiser.{world.role}.{candidate_id}", "compliance")
        appraiser = Actor(user_id=appraiser_id, name="appraiser", roles=frozenset({"compliance"}))
        destruction.appraise(
            session, actor=appraiser, candidate_id=candidate_id, decision="destroy"
        )
    return candidate_id


def _number(session: Session, customer_id: int) -> str:
    from custapp.models import Customer

    return session.get(Customer, customer_id).number


def _provision_recipient(session: Session, world: World) -> int:
    """A recipient with its confidentiality agreement, one per acting role."""
    return (
        SERVICE_MODULES["provision"]
        .add_recipient(
            session,
            actor=system_actor("test"),
            name=f"接收方 {world.role}",
            nda_reference="NDA-1",
            nda_signed_on=clock.local_today(),
            oversight_note="每季度检查",
        )
        .id
    )


def _provision_input(session: Session, world: World) -> dict:
    """A valid provision: a recipient and one customer who granted third_party."""
    today = clock.local_today()
    return {
        "recipient_id": _provision_recipient(session, world),
        "purpose": "third_party",
        "categories": ["basic"],
        "period_from": today,
        "period_to": today,
        "contract_reference": "HT-1",
        "numbers": _number(session, _granted(session, "third_party")),
    }


def _function(operation: str) -> Callable:
    module, name = operation.split(".", 1)
    return getattr(SERVICE_MODULES[module], name)


def test_registry_holds_the_operations_of_every_service_module():
    assert {"users", "audit", "outbox", "stores"} <= {op.split(".")[0] for op in OPERATIONS}
    for operation, permission in OPERATIONS.items():
        assert _function(operation).permission == permission


def test_every_operation_has_a_factory():
    missing = sorted(set(OPERATIONS) - set(FACTORIES))
    assert not missing, f"add these operations to FACTORIES: {missing}"
    stale = sorted(set(FACTORIES) - set(OPERATIONS))
    assert not stale, f"FACTORIES names operations that no longer exist: {stale}"


def _user(session: Session, username: str, role: str | None) -> int:
    now = clock.now()
    user = User(
        kind="member" if role == MEMBER else "staff",
        username=username,
        display_name=username,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    if role and role != MEMBER:
        session.add(UserRole(user_id=user.id, role=role, granted_at=now))
    return user.id


def _audit_rows(session: Session) -> int:
    return session.exec(select(func.count(AuditEntry.id))).scalar_one()


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_operation_is_refused_exactly_for_roles_without_its_permission(db, operation):
    permission = OPERATIONS[operation]
    call = _function(operation)
    factory = FACTORIES.get(operation)
    if factory is None:
        pytest.fail(f"{operation} has no entry in FACTORIES")
    needed = [
        permission,
        *([SECOND_PERMISSIONS[operation]] if operation in SECOND_PERMISSIONS else []),
    ]
    holders = [role for role in ALL_ROLES if set(needed) <= ROLE_PERMISSIONS[role]]
    assert holders, f"no role holds {needed}: nobody could ever call {operation}"

    with session_scope() as session:
        store = Store(code="HQ", name="总店", created_at=clock.now())
        session.add(store)
        session.flush()
        store_id = store.id
        target_id = _user(session, "target.user", "front_desk")

    for role in ALL_ROLES:
        with session_scope() as session:
            actor_id = _user(session, f"actor.{role}", role)
            kwargs = factory(session, World(target_id, store_id, actor_id, role))
        actor = Actor(
            user_id=actor_id,
            name=f"actor.{role}",
            kind="member" if role == MEMBER else "staff",
            roles=frozenset({role}),
            customer_id=kwargs.pop(MEMBER_CUSTOMER, None),
        )
        with session_scope() as session:
            before = _audit_rows(session)
        if role in holders:
            with session_scope() as session:
                call(session, actor=actor, **kwargs)
            continue
        with pytest.raises(PermissionDenied), session_scope() as session:
            call(session, actor=actor, **kwargs)
        with session_scope() as session:
            assert _audit_rows(session) == before + 1, (operation, role)
            entry = session.exec(
                select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
            ).scalar_one()
        missing = next(p for p in needed if p not in ROLE_PERMISSIONS[role])
        assert (entry.outcome, entry.action, entry.actor_id, entry.reason) == (
            "denied",
            operation,
            actor_id,
            missing,
        ), role


def test_a_call_without_any_actor_is_refused_and_audited(db):
    with pytest.raises(PermissionDenied), session_scope() as session:
        audit.list_entries(session, actor=None, filters=audit.AuditFilter())
    with session_scope() as session:
        entry = session.exec(select(AuditEntry)).scalar_one()
    assert (entry.outcome, entry.action, entry.actor_name) == (
        "denied",
        "audit.list_entries",
        "anonymous",
    )
