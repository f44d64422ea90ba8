"""What 我的信息与授权 shows: display text prepared by the state, flags as bools. The notice and
its choices have the fields the shared consent component (custapp/components/consent.py) reads."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Profile:
    number: str = ""
    name: str = ""
    kind: str = ""
    verify: str = ""
    updated: str = ""


@dataclasses.dataclass(frozen=True)
class Fact:
    """A field of the profile, labelled."""

    label: str = ""
    text: str = ""


@dataclasses.dataclass(frozen=True)
class MaskedFact:
    """A sensitive field present on the profile, masked as staff see it."""

    label: str = ""
    masked: str = ""
    field: str = ""


@dataclasses.dataclass(frozen=True)
class ContactRow:
    name: str = ""
    title: str = ""
    phone: str = ""  # masked


@dataclasses.dataclass(frozen=True)
class ConsentRow:
    """The member's current answer for a purpose."""

    purpose: str = ""
    name: str = ""
    description: str = ""
    state: str = ""  # ConsentStatus, "" never answered
    label: str = ""
    since: str = ""
    reconfirm: bool = False  # the notice changed since it was granted


@dataclasses.dataclass(frozen=True)
class RequestRow:
    """One of the member's rights requests in the list: never what was asked."""

    number: str = ""
    kind: str = ""
    channel: str = ""
    received: str = ""
    due: str = ""
    status: str = ""
    status_code: str = ""  # RightsStatus
    closed: str = ""


@dataclasses.dataclass(frozen=True)
class RequestView:
    """The one request opened: what was asked and the outcome, decrypted for the dialog only."""

    number: str = ""
    kind: str = ""
    status: str = ""
    status_code: str = ""
    received: str = ""
    due: str = ""
    closed: str = ""
    detail: str = ""
    outcome: str = ""


@dataclasses.dataclass(frozen=True)
class Notice:
    """The current privacy notice in both languages (the page picks by the user's language), as
    the shared consent component's notice_panel reads it; version "" when there is none."""

    version: str = ""
    version_zh: str = ""
    version_en: str = ""
    handler_zh: str = ""
    handler_en: str = ""
    body_zh: str = ""
    body_en: str = ""


@dataclasses.dataclass(frozen=True)
class NoticeChoice:
    """A consent-based purpose of the notice, answered 同意 / 不同意 (consent_choices reads it)."""

    code: str = ""
    name_zh: str = ""
    name_en: str = ""
    description_zh: str = ""
    description_en: str = ""


@dataclasses.dataclass(frozen=True)
class ErasureProgress:
    """The member's newest deletion request on the 删除我的信息 card (number "" when none)."""

    number: str = ""
    title: str = ""  # "删除申请 Q..."
    received: str = ""
    stage: int = 0  # 0 已提交, 1 处理中, 2 已完成 or 已拒绝
    refused: bool = False
    reason: str = ""  # a refusal's legal reason and words
    done: str = ""  # "deleted (candidate XH...)" once done
