"""The Reflex app: theme and pages only."""

import reflex as rx

from custapp import job_runner, transport
from custapp.health_http import health_app
from custapp.pages.account import AccountState, account_page
from custapp.pages.activate import ActivateState, activate_page
from custapp.pages.approvals import ApprovalsState, approvals_page
from custapp.pages.audit import AuditState, audit_page
from custapp.pages.backups import BackupsState, backups_page
from custapp.pages.care import CareState, care_page
from custapp.pages.complaint import ComplaintAttachmentsState, ComplaintState, complaint_page
from custapp.pages.complaint_intake import ComplaintNewState, complaint_new_page
from custapp.pages.complaints_review import ComplaintsReviewState, complaints_review_page
from custapp.pages.compliance import ComplianceState, compliance_page
from custapp.pages.customer_form import CustomerFormState, customer_form_page
from custapp.pages.customer_profile import ProfileState, customer_profile_page
from custapp.pages.customers import CustomersState, customers_page
from custapp.pages.data_quality import DataQualityState, data_quality_page
from custapp.pages.destruction import DestructionState, destruction_page
from custapp.pages.follow_ups import FollowUpsState, follow_ups_page
from custapp.pages.gifts import GiftsState, gifts_page
from custapp.pages.home import HomeState, home_page
from custapp.pages.jobs import JobsState, jobs_page
from custapp.pages.login import LoginState, login_page
from custapp.pages.marketing import MarketingState, marketing_page
from custapp.pages.messages import MessagesState, messages_page
from custapp.pages.my_complaints import MyComplaintsState, my_complaints_page
from custapp.pages.portal import PortalGiftsState, PortalState, portal_page
from custapp.pages.portal_complaints import PortalComplaintsState, portal_complaints_page
from custapp.pages.portal_privacy import PortalPrivacyState, portal_privacy_page
from custapp.pages.provisions import ProvisionsState, provisions_page
from custapp.pages.receipt import ReceiptState, receipt_page
from custapp.pages.retention import RetentionState, retention_page
from custapp.pages.rights_requests import RightsState, rights_requests_page
from custapp.pages.tiers import TiersState, tiers_page
from custapp.pages.users import UsersState, users_page
from custapp.security import passwords
from custapp.settings import get_settings
from custapp.states import sealed_redis

passwords.configure_pool(get_settings().hash_workers)
# GET /health (issue 17) in front of Reflex's backend; security headers around both
app = rx.App(api_transformer=[health_app(), transport.secure])
# durable jobs (issue 15): this worker's runner claims them while the app runs
app.register_lifespan_task(job_runner.run_in_app)
TITLE = "客户信息管理系统"
app.add_page(login_page, route="/login", title=TITLE, on_load=LoginState.load)
app.add_page(activate_page, route="/activate", title=TITLE, on_load=ActivateState.load)
app.add_page(home_page, route="/", title=TITLE, on_load=HomeState.load)
app.add_page(account_page, route="/account", title=TITLE, on_load=AccountState.load)
app.add_page(users_page, route="/users", title=TITLE, on_load=UsersState.load)
app.add_page(audit_page, route="/audit", title=TITLE, on_load=AuditState.load)
app.add_page(backups_page, route="/backups", title=TITLE, on_load=BackupsState.load)  # issue 16
app.add_page(messages_page, route="/messages", title=TITLE, on_load=MessagesState.load)
app.add_page(
    portal_page, route="/portal", title=TITLE, on_load=[PortalState.load, PortalGiftsState.load]
)
app.add_page(
    portal_privacy_page, route="/portal/privacy", title=TITLE, on_load=PortalPrivacyState.load
)
app.add_page(
    portal_complaints_page,
    route="/portal/complaints",
    title=TITLE,
    on_load=PortalComplaintsState.load,
)
app.add_page(customers_page, route="/customers", title=TITLE, on_load=CustomersState.load)
app.add_page(
    customer_form_page, route="/customers/new", title=TITLE, on_load=CustomerFormState.load
)
app.add_page(
    customer_profile_page, route="/customers/[cid]", title=TITLE, on_load=ProfileState.load
)
app.add_page(
    customer_form_page, route="/customers/[cid]/edit", title=TITLE, on_load=CustomerFormState.load
)
app.add_page(follow_ups_page, route="/follow-ups", title=TITLE, on_load=FollowUpsState.load)
app.add_page(data_quality_page, route="/data-quality", title=TITLE, on_load=DataQualityState.load)
# --- consent pages (issue 4) ---
app.add_page(provisions_page, route="/provisions", title=TITLE, on_load=ProvisionsState.load)
app.add_page(rights_requests_page, route="/rights-requests", title=TITLE, on_load=RightsState.load)
app.add_page(compliance_page, route="/compliance", title=TITLE, on_load=ComplianceState.load)
# --- retention rules (issue 16, RT) ---
app.add_page(retention_page, route="/retention", title=TITLE, on_load=RetentionState.load)
# --- destruction (issue 16, DS) ---
app.add_page(destruction_page, route="/destruction", title=TITLE, on_load=DestructionState.load)
app.add_page(marketing_page, route="/marketing", title=TITLE, on_load=MarketingState.load)
app.add_page(care_page, route="/care", title=TITLE, on_load=CareState.load)
app.add_page(approvals_page, route="/approvals", title=TITLE, on_load=ApprovalsState.load)
app.add_page(
    complaints_review_page, route="/complaints", title=TITLE, on_load=ComplaintsReviewState.load
)
app.add_page(gifts_page, route="/gifts", title=TITLE, on_load=GiftsState.load)
# --- receipts and tiers (issue 5) ---
app.add_page(receipt_page, route="/receipt/[kind]/[ref]", title=TITLE, on_load=ReceiptState.load)
app.add_page(tiers_page, route="/tiers", title=TITLE, on_load=TiersState.load)
# --- complaint pages (issue 6) ---
app.add_page(
    my_complaints_page, route="/my-complaints", title=TITLE, on_load=MyComplaintsState.load
)
app.add_page(
    complaint_new_page, route="/complaints/new", title=TITLE, on_load=ComplaintNewState.load
)
app.add_page(
    complaint_page,
    route="/complaints/[id]",
    title=TITLE,
    # both again on a reconnect's hydrate, which clears every page's state
    on_load=[ComplaintState.load, ComplaintAttachmentsState.load_files],
)
# --- the scheduled steps (issue 17) ---
app.add_page(jobs_page, route="/jobs", title=TITLE, on_load=JobsState.load)
# --- with Redis, each state is sealed before it is stored (issue 17) ---
sealed_redis.install(app)
