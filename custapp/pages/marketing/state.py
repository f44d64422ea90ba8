"""The 营销名单 state: a segment and a purpose give the list of consenting customers, how many
were left out and why, one page of it (masked), and a campaign to it.

The list shown is the one the campaign goes to: the segment and purpose of the last built list
stay on the server (`_built`), and changing a filter clears the result until it is built again.
The service checks campaign.manage whatever the browser sends. Sending records the campaign and
its job (issue 15); a runner queues the messages in batches of 500 per transaction while the page
shows the job's progress, and the counts once it is done.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from custapp import clock, job_runner
from custapp.db import session_scope
from custapp.pages.marketing.rows import BuiltList, CampaignRow, ListRow, PurposeChoice, Stat
from custapp.services import customer_search, marketing
from custapp.services.actor import Actor
from custapp.services.errors import DomainError, ValidationFailed
from custapp.services.job_queue import JobView
from custapp.states.job_watch import JobWatchMixin
from custapp.states.off_loop import run_off_loop
from custapp.states.paging import PagedMixin
from custapp.states.session import SessionState
from custapp.vocab import JobStatus

PAGE_SIZE = 20
HISTORY_PAGE_SIZE = 10
ALL = "all"
FILTERS = ("f_grade", "f_lifecycle", "f_tag", "purpose")


def _start(actor: Actor, built: BuiltList, subject: str, body: str):  # noqa: ANN202
    """start_campaign in its own thread -> (its job's id, message key, params, field errors)."""
    try:
        with session_scope() as session:
            started = marketing.start_campaign(
                session,
                actor=actor,
                segment=marketing.Segment(built.grade, built.lifecycle, built.tag),
                purpose=built.purpose,
                subject=subject,
                body=body,
            )
    except ValidationFailed as exc:
        return 0, exc.key, {}, exc.errors
    except DomainError as exc:
        return 0, exc.key, exc.params, {}
    return started.job_id, "", {}, {}


class MarketingState(JobWatchMixin, PagedMixin, SessionState):
    # the list builder
    purposes: list[PurposeChoice] = []
    tags: list[str] = []
    f_grade: str = ALL
    f_lifecycle: str = ALL
    f_tag: str = ALL
    purpose: str = ""
    errors: dict[str, str] = {}
    building: bool = False
    # the last built list (total, page: PagedMixin; total = the included customers)
    built: bool = False
    sendable: bool = False
    contact_label: str = ""
    summary: str = ""
    reconfirm_note: str = ""
    stats: list[Stat] = []
    rows: list[ListRow] = []
    _built: BuiltList | None = None
    # the message and its confirmation
    compose_open: bool = False
    confirm_open: bool = False
    confirm_text: str = ""
    subject: str = ""
    body: str = ""
    msg_errors: dict[str, str] = {}
    form_error: str = ""
    queuing: bool = False  # from 加入发送队列 until the campaign's job finished
    # the campaigns
    campaigns: list[CampaignRow] = []
    camp_total: int = 0
    camp_page: int = 1
    camp_loaded: bool = False

    def _page_size(self) -> int:
        return PAGE_SIZE

    @rx.var
    def camp_pages(self) -> int:
        return max(1, -(-self.camp_total // HISTORY_PAGE_SIZE))

    def _clear_list(self) -> None:
        self.built, self.rows, self.stats, self._built = False, [], [], None
        self.summary = self.reconfirm_note = ""
        self.total, self.page = 0, 1
        self.compose_open = self.confirm_open = False

    def _clear(self) -> None:
        """A full page load sends the whole state tree to the new page: not this list."""
        self._clear_list()
        self.campaigns, self.camp_loaded = [], False

    @rx.event
    def load(self):
        _, redirect = self._enter("campaign.manage")
        if redirect:
            return redirect
        self._clear_list()
        self.errors, self.camp_page, self.camp_loaded = {}, 1, False
        options, error = self._call(marketing.list_purposes, locale=self.locale)
        if error:
            return rx.toast.error(error)
        unusable = self._t("marketing.purpose_unusable")
        self.purposes = [
            PurposeChoice(
                code=p.code,
                name=p.name + ("" if p.usable else unusable),
                channel=p.channel,
                sendable=p.sendable,
            )
            for p in options
        ]
        if self.purpose not in [p.code for p in options]:
            self.purpose = next((p.code for p in options if p.usable and p.sendable), "")
        tags, _ = self._call(customer_search.list_tags)
        self.tags = tags or []
        fetched = self._fetch_campaigns()
        running, _ = self._call(marketing.campaign_job)  # a campaign still queuing: watch it
        if running is not None:
            self._job_ref, self.queuing = running.id, True
        events = [e for e in (fetched, *self._watch(running)) if e is not None]
        return events or None

    @rx.event
    def set_filter(self, name: str, value: str):
        if name in FILTERS:
            setattr(self, name, str(value)[: marketing.TAG_MAX + 1])
            self.errors = {}
            self._clear_list()

    # --- the list ---------------------------------------------------------------------------

    def _segment(self) -> BuiltList:
        def value(v: str) -> str:
            return "" if v == ALL else v

        return BuiltList(
            grade=value(self.f_grade),
            lifecycle=value(self.f_lifecycle),
            tag=value(self.f_tag),
            purpose=self.purpose,
        )

    @rx.event
    def build(self):
        self._clear_list()
        self._built, self.building = self._segment(), True
        return MarketingState.fetch_built

    @rx.event
    def fetch_built(self):
        """A second event after build, so the button shows that the list is being counted."""
        self.building = False
        return self._fetch(with_counts=True)

    def _fetch(self, *, with_counts: bool = False):
        """One page of the built list; with_counts on building it (paging keeps the counts)."""
        if self._built is None:
            return None
        b = self._built
        result, error = self._call(
            marketing.build_list,
            segment=marketing.Segment(b.grade, b.lifecycle, b.tag),
            purpose=b.purpose,
            page=self.page,
            page_size=PAGE_SIZE,
            with_counts=with_counts,
        )
        if error:
            self.errors = {
                ("f_" + f if f != "purpose" else f): m for f, m in self._field_errors.items()
            }
            self._clear_list()
            return None if self.errors else rx.toast.error(error)
        self._show(result)
        return None

    def _show(self, result: marketing.MarketingList) -> None:
        self.rows = [
            ListRow(
                id=str(r.id),
                number=r.number,
                name=r.name,
                contact=r.contact_masked or "—",
                grade=r.grade,
                lifecycle=self._t(f"customer.lifecycle.{r.lifecycle}"),
            )
            for r in result.rows
        ]
        c = result.counts
        if c is None:
            return
        chosen = next((p for p in self.purposes if p.code == self._built.purpose), None)
        self.sendable = chosen is not None and chosen.sendable
        field = marketing.CONTACT_FIELDS.get(chosen.channel if chosen else "", "phone")
        self.contact_label = self._t(f"customer.field.{field}")
        self.built, self.total = True, c.included
        counts = {**c.as_dict(), "left_out": c.left_out}
        if c.purpose_unusable:
            self.summary = self._t("marketing.summary_unusable", **counts)
        else:
            key = "marketing.summary" if self.sendable else "marketing.summary_call"
            self.summary = self._t(key, **counts)
        self.reconfirm_note = (
            self._t("marketing.reconfirm_note", count=c.reconfirm) if c.reconfirm else ""
        )
        included = "marketing.stat.included" if self.sendable else "marketing.stat.included_call"
        self.stats = [
            Stat(self._t(label), f"{n:,}")
            for label, n in (
                ("marketing.stat.segment", c.segment),
                (included, c.included),
                ("marketing.stat.left_out", c.left_out),
            )
        ]

    # --- the message --------------------------------------------------------------------------

    @rx.event
    def open_compose(self):
        if self.built and self.sendable and self.total > 0:
            self.msg_errors, self.form_error, self.compose_open = {}, "", True

    @rx.event
    def close_dialogs(self):
        self.compose_open = self.confirm_open = False

    @rx.event
    def compose(self, form: dict):
        self.subject = str(form.get("subject", ""))[:1000]
        self.body = str(form.get("body", ""))[:2000]
        errors = marketing.message_errors(self.subject, self.body)
        self.msg_errors = {f: self._t(k) for f, k in errors.items()}
        if errors:
            return
        purpose = next((p.name for p in self.purposes if p.code == self.purpose), "")
        self.confirm_text = self._t(
            "marketing.confirm_text",
            purpose=purpose,
            count=f"{self.total:,}",
            subject=self.subject.strip(),
        )
        self.compose_open, self.confirm_open = False, True

    @rx.event(background=True)
    async def queue(self):
        """加入发送队列: the campaign and its job recorded off the event loop; the runner queues
        the messages, watch_job shows how far it got."""
        async with self:
            if self.queuing or self._built is None:
                return
            self.confirm_open = False
            actor = await run_off_loop(self._actor)
            if actor is not None:
                self.queuing = True
            built, subject, body = self._built, self.subject, self.body
            refused = self._t("auth.login_required")
        if actor is None:
            yield rx.toast.error(refused)
            return
        job_id, key, params, errors = await run_off_loop(_start, actor, built, subject, body)
        async with self:
            if errors or key:
                self.queuing = False
            if errors:
                self.msg_errors = {f: self._t(k) for f, k in errors.items()}
                self.form_error = "" if set(errors) <= {"subject", "body"} else self._t(key)
                self.compose_open = True
            elif key:
                failure = self._t(key, **params)
            else:
                self.subject = self.body = ""
                self._job_ref, self.job_active = job_id, True
                self.job_status, self.job_done = JobStatus.QUEUED.value, 0
                self.job_text = self._t("marketing.job.queued")
                self.camp_page = 1
                await run_off_loop(self._fetch_campaigns)
        if errors:
            return
        if key:
            yield rx.toast.error(failure)
            return
        job_runner.wake()
        yield MarketingState.watch_job()

    # --- the campaign's job (JobWatchMixin) ---------------------------------------------------

    def _read_job(self) -> JobView | None:
        # watching is not the user's activity: the idle clock is left alone
        view, _, _ = self._call_detached(marketing.campaign_job, _touch=False, job_id=self._job_ref)
        return view

    def _job_line(self, view: JobView) -> str:
        if view.status == JobStatus.RUNNING:
            return self._t("marketing.job.running", done=f"{view.done:,}", total=f"{view.total:,}")
        return self._t("marketing.job.queued")

    def _job_finished(self, view: JobView) -> list[Any]:
        self.queuing = False
        self.camp_page = 1
        fetched = self._fetch_campaigns()
        if view.status == JobStatus.DONE:
            done = rx.toast.success(self._t("marketing.queued", **view.result))
        elif view.status == JobStatus.FAILED:
            reason = self._t(view.error or "job.error.failed")
            done = rx.toast.error(self._t("marketing.job.failed", error=reason))
        else:
            done = None
        return [e for e in (fetched, done) if e is not None]

    # --- the campaigns ------------------------------------------------------------------------

    def _segment_text(self, segment: dict[str, str]) -> str:
        parts = []
        if segment.get("grade"):
            parts.append(self._t("marketing.segment.grade", value=segment["grade"]))
        if segment.get("lifecycle"):
            parts.append(self._t(f"customer.lifecycle.{segment['lifecycle']}"))
        if segment.get("tag"):
            parts.append(self._t("marketing.segment.tag", value=segment["tag"]))
        return " · ".join(parts) or self._t("marketing.segment.all")

    def _fetch_campaigns(self):
        result, error = self._call(
            marketing.list_campaigns,
            page=self.camp_page,
            page_size=HISTORY_PAGE_SIZE,
            locale=self.locale,
        )
        self.camp_loaded = True
        if error:
            self.campaigns, self.camp_total = [], 0
            return rx.toast.error(error)
        rows, self.camp_total = result
        self.campaigns = [
            CampaignRow(
                time=clock.format_local(r.created_at),
                purpose=r.purpose_name,
                segment=self._segment_text(r.segment),
                subject=r.subject,
                queued=f"{r.queued:,}",
                left_out=f"{r.left_out:,}",
                created_by=r.created_by or "—",
            )
            for r in rows
        ]
        return None

    @rx.event
    def camp_prev(self):
        self.camp_page = max(1, self.camp_page - 1)
        return self._fetch_campaigns()

    @rx.event
    def camp_next(self):
        self.camp_page = min(self.camp_pages, self.camp_page + 1)
        return self._fetch_campaigns()
