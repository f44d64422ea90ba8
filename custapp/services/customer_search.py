"""客户查询: one search box, filters, server-side paging, the duplicate review list.

Lookup by full phone number, ID number or customer number is exact through the blind index;
anything else is a name substring (SPEC §2). Every search is audited with a keyed hash of the
term, never the term, and a run of searches without a hit alerts cs_manager (SPEC §8).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import (
    Integer,
    Text,
    and_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.engine import Connection
from sqlalchemy.sql import visitors
from sqlmodel import Session

from custapp import clock
from custapp.models import AuditEntry, Customer, CustomerContact, CustomerTag
from custapp.security import crypto
from custapp.security.keys import get_keys
from custapp.security.permissions import CS_MANAGER
from custapp.security.validators import validate_cn_id, validate_mobile
from custapp.services import audit, customer_fields, datakeys, outbox
from custapp.services.actor import Actor
from custapp.services.errors import DomainError
from custapp.services.guard import requires
from custapp.services.paging import Page, page_window
from custapp.settings import get_settings

MAX_PAGE_SIZE = 100
# Counts stop here: a page shows "1,000+" rather than counting a million names (total_capped).
COUNT_CAP = 1000
ALERT_WINDOW = timedelta(minutes=10)
SEARCH_ACTION = "customer.search"
ALERT_ACTION = "customer.search_alert"
MISS = "miss"
_NUMBER_RE = re.compile(r"C[0-9]{11}")
_MAX_MERGE_HOPS = 10

SORTS = {
    "number": (Customer.number.asc(),),
    "-number": (Customer.number.desc(),),
    "created": (Customer.created_at.asc(), Customer.id.asc()),
    "-created": (Customer.created_at.desc(), Customer.id.desc()),
    "last_purchase": (Customer.last_purchase_at.asc().nulls_last(), Customer.id.asc()),
    "-last_purchase": (Customer.last_purchase_at.desc().nulls_last(), Customer.id.desc()),
}


@dataclass(frozen=True)
class CustomerFilter:
    lifecycle: str = ""
    nature: str = ""
    grade: str = ""  # the effective grade: the override when there is one
    value_class: str = ""
    tag: str = ""
    owner_id: int | None = None
    store_id: int | None = None
    include_merged: bool = False


@dataclass(frozen=True)
class CustomerRow:
    id: int
    number: str
    name: str
    kind: str
    nature: str
    grade: str  # effective: grade_override or grade
    lifecycle: str
    value_class: str
    phone_masked: str  # "" when there is no phone or the data key is destroyed
    tags: list[str]
    last_purchase_at: datetime | None
    created_at: datetime
    verify_status: str
    merged_into_id: int | None  # set only on merged records (include_merged=True)


def classify_query(query: str) -> tuple[str, str]:
    """(mode, normalised term) of what was typed into the one search box.

    Modes: "number" (C + 11 digits), "phone" (a valid mainland mobile), "id" (a valid resident
    ID, or any other text with at least 6 digits: passports and mistyped numbers), "name"
    (substring), "filter" (empty box).

    Branch point for membership (issue 5): a card number gets its own exact mode here, tried
    before "id" once cards exist.
    """
    text = unicodedata.normalize("NFKC", query or "").strip()
    if not text:
        return "filter", ""
    if _NUMBER_RE.fullmatch(text.upper()):
        return "number", text.upper()
    mobile = validate_mobile(text)
    if mobile.ok:
        return "phone", mobile.value
    compact = "".join(text.split()).upper()
    resident_id = validate_cn_id(compact, today=clock.local_today())
    if resident_id.ok:
        return "id", resident_id.value
    if sum(ch.isdigit() for ch in text) >= 6:
        return "id", compact
    return "name", text.casefold()


def search_term_hash(query: str) -> str:
    """The keyed hash an audited search stores (an auditor can match a known term with it)."""
    return crypto.keyed_hash(get_keys().audit, classify_query(query)[1])


# Statements built once (SQLAlchemy's expression building cost more than an indexed lookup).
_HIT_BY_NUMBER = select(Customer.id, Customer.merged_into_id).where(
    Customer.number == bindparam("number")
)
_MERGED_INTO = select(Customer.merged_into_id).where(Customer.id == bindparam("id"))


def _survivor_ids(connection: Connection, number: str) -> list[int]:
    """The customer with this number and, when it was merged, the survivor it redirects to."""
    hit = connection.execute(_HIT_BY_NUMBER, {"number": number}).first()
    if hit is None:
        return []
    ids, next_id = [hit[0]], hit[1]
    while next_id is not None and next_id not in ids and len(ids) <= _MAX_MERGE_HOPS:
        ids.append(next_id)
        next_id = connection.execute(_MERGED_INTO, {"id": next_id}).scalar_one_or_none()
    return ids


def _name_grams(value):  # noqa: ANN001, ANN202
    """custapp_name_grams(value): PostgreSQL only (migration 0004)."""
    return func.custapp_name_grams(value, type_=ARRAY(Text))


def _name_condition(session: Session, original: str):  # noqa: ANN202
    name = unicodedata.normalize("NFKC", original).strip()
    if session.get_bind().dialect.name == "postgresql":
        # A GIN index on custapp_name_grams(name), each letter and letter pair of the name
        # (migration 0004), finds even a one- or two-character Chinese name, which trigrams
        # (pg_trgm) cannot index. A term of one or two letters is itself a gram: containing
        # it is the whole test, and the planner knows from the index statistics how common
        # it is (a common surname: walk the newest customers; a rare name: the index).
        if len(name) <= 2:
            return _name_grams(Customer.name).contains(array([func.lower(name)]))
        # Longer terms: every gram of the term must be among the name's, then ILIKE checks
        # their order.
        grams = _name_grams(Customer.name).contains(_name_grams(name))
        return and_(Customer.name.icontains(name, autoescape=True), grams)
    # SQLite's LIKE is a scan (and already ignores ASCII case: lower() on every row would
    # make it three times slower); the subquery scans only the narrow name index.
    matches = Customer.name.contains(name, autoescape=True)
    return Customer.id.in_(select(Customer.id).where(matches))


# The exact lookups, with their values as bound parameters so that the statements around them
# are built once (see _statements).
_EXACT_CONDITIONS = {
    "number": lambda: Customer.id.in_(bindparam("survivors", expanding=True)),
    # A union of three index lookups: with OR, PostgreSQL scans the whole table.
    "phone": lambda: Customer.id.in_(
        union(
            select(Customer.id).where(Customer.phone_bidx == bindparam("digest")),
            select(Customer.id).where(Customer.phone2_bidx == bindparam("digest")),
            select(CustomerContact.customer_id).where(
                CustomerContact.phone_bidx == bindparam("digest")
            ),
        )
    ),
    # An organisation's credit code is plain (it names a company, not a person). A union of
    # two index lookups, as for phones: with OR the planner may walk the sort index instead.
    "id": lambda: Customer.id.in_(
        union(
            select(Customer.id).where(Customer.id_number_bidx == bindparam("digest")),
            select(Customer.id).where(Customer.uscc == bindparam("uscc")),
        )
    ),
}


def _query_params(connection: Connection, mode: str, term: str) -> dict:
    """The bound values of an exact lookup's condition (see _EXACT_CONDITIONS)."""
    if mode == "number":
        return {"survivors": _survivor_ids(connection, term)}
    if mode == "phone":
        return {"digest": customer_fields.blind_index("phone", term)}
    if mode == "id":
        return {"digest": customer_fields.blind_index("id_number", term), "uscc": term}
    return {}


# Each filter: its condition on a bound value, built once per combination of filters in use.
_FILTERS = {
    "lifecycle": lambda: Customer.lifecycle == bindparam("f_lifecycle"),
    "nature": lambda: Customer.nature == bindparam("f_nature"),
    "grade": lambda: or_(
        Customer.grade_override == bindparam("f_grade"),
        and_(Customer.grade_override.is_(None), Customer.grade == bindparam("f_grade")),
    ),
    "value_class": lambda: Customer.value_class == bindparam("f_value_class"),
    # EXISTS, not IN (SELECT ...): checked row by row along the other filter's index; SQLite
    # materialised every customer of a common tag before reading the first row
    "tag": lambda: exists().where(
        CustomerTag.customer_id == Customer.id, CustomerTag.tag == bindparam("f_tag")
    ),
    "owner_id": lambda: Customer.owner_id == bindparam("f_owner_id"),
    "store_id": lambda: Customer.store_id == bindparam("f_store_id"),
}


def _filter_params(filters: CustomerFilter) -> dict:
    """The filters in use, by name, as bound values (an empty text or None is not in use)."""
    params = {}
    for name in _FILTERS:
        value = getattr(filters, name)
        if value is not None and value != "":
            params[f"f_{name}"] = value
    return params


def _filter_conditions(used: tuple[str, ...], include_merged: bool) -> list:
    # a destroyed customer is a tombstone: never listed nor found (issue 16), a row filter like
    # the merged one below, checked on the rows the index range already gives
    conditions = [Customer.destroyed_at.is_(None)]
    if not include_merged:
        conditions.append(Customer.merged_into_id.is_(None))
    conditions.extend(_FILTERS[name]() for name in used)
    return conditions


def filter_conditions(filters: CustomerFilter) -> list:
    """The customer list's filters as SQL conditions on Customer, their values bound: lists
    built on a segment of the archive (marketing) select exactly what the customer list shows
    for the same filters. Merged customers are left out unless filters.include_merged;
    destroyed ones always."""
    params = _filter_params(filters)
    used = tuple(name[2:] for name in params)

    def bind(parameter) -> None:  # noqa: ANN001 (a BindParameter of the copy)
        if parameter.key in params:
            parameter.value, parameter.required = params[parameter.key], False

    return [
        visitors.cloned_traverse(c, {}, {"bindparam": bind})
        for c in _filter_conditions(used, filters.include_merged)
    ]


# What a row needs: not the whole record (most of it is ciphertext the list never shows).
_ROW_COLUMNS = (
    Customer.id,
    Customer.number,
    Customer.name,
    Customer.kind,
    Customer.nature,
    Customer.grade,
    Customer.grade_override,
    Customer.lifecycle,
    Customer.value_class,
    Customer.phone_enc,
    Customer.data_key_id,
    Customer.last_purchase_at,
    Customer.created_at,
    Customer.verify_status,
    Customer.merged_into_id,
)


_TAGS_OF = (
    select(CustomerTag.customer_id, CustomerTag.tag)
    .where(CustomerTag.customer_id.in_(bindparam("ids", expanding=True)))
    .order_by(CustomerTag.tag)
)


def _rows(session: Session, connection: Connection, found: list) -> list[CustomerRow]:
    ids = [c.id for c in found]
    tags: dict[int, list[str]] = {i: [] for i in ids}
    for customer_id, tag in connection.execute(_TAGS_OF, {"ids": ids}):
        tags[customer_id].append(tag)
    datakeys.preload(session, [c.data_key_id for c in found])  # one key-store query
    rows = []
    for c in found:
        try:
            # customer_fields.read needs only the row's phone_enc and data_key_id
            phone = customer_fields.masked("phone", customer_fields.read(session, c, "phone"))
        except DomainError:  # the data key is destroyed: nothing left to show
            phone = ""
        rows.append(
            CustomerRow(
                id=c.id,
                number=c.number,
                name=c.name,
                kind=c.kind,
                nature=c.nature,
                grade=c.grade_override or c.grade,
                lifecycle=c.lifecycle,
                value_class=c.value_class,
                phone_masked=phone,
                tags=tags[c.id],
                last_purchase_at=c.last_purchase_at,
                created_at=c.created_at,
                verify_status=c.verify_status,
                merged_into_id=c.merged_into_id,
            )
        )
    return rows


class CustomerPage(NamedTuple):
    """One page of rows and the count, capped: total is at most COUNT_CAP + 1."""

    rows: list[CustomerRow]
    total: int

    @property
    def total_capped(self) -> bool:
        """More than COUNT_CAP match: show "1,000+", not the number."""
        return self.total > COUNT_CAP


def _page_statement(conditions: list, sort: str):  # noqa: ANN202
    return (
        select(*_ROW_COLUMNS)
        .select_from(Customer)
        .where(*conditions)
        .order_by(*SORTS[sort])
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )


def _count_statement(conditions: list):  # noqa: ANN202
    """How many match, counting no further than the cap + 1 (a LIMITed subquery)."""
    matching = (
        select(literal(1))
        .select_from(Customer)
        .where(*conditions)
        .limit(bindparam("cap", type_=Integer))
    )
    return select(func.count()).select_from(matching.subquery())


# (mode, filters in use, include_merged, sort) -> (page statement, count statement). The
# combinations are few (a mode, which filters are set, a sort); the values are bound per call.
_STATEMENTS: dict[tuple, tuple] = {}


def _statements(mode: str, used: tuple[str, ...], include_merged: bool, sort: str) -> tuple:
    key = (mode, used, include_merged, sort)
    statements = _STATEMENTS.get(key)
    if statements is None:
        conditions = _filter_conditions(used, include_merged)
        if mode in _EXACT_CONDITIONS:
            conditions.append(_EXACT_CONDITIONS[mode]())
        statements = (_page_statement(conditions, sort), _count_statement(conditions))
        _STATEMENTS[key] = statements
    return statements


def _page_and_count(
    connection: Connection, statements: tuple, params: dict, window: Page
) -> tuple[list, int]:
    """The page's rows, then the capped count unless the page holds the whole result.

    Two queries, not one with a window over the first COUNT_CAP + 1 in order: that forced
    PostgreSQL to read every match of a common surname in date order, while the capped count
    alone can stop at any 1,001 matches. Core, not the ORM: the rows are plain tuples anyway,
    and the ORM layer cost more than the indexed query itself.
    """
    page_statement, count_statement = statements
    found = connection.execute(
        page_statement, {**params, "offset": window.offset, "limit": window.limit}
    ).all()
    if window.number == 1 and len(found) < window.size:
        return found, len(found)  # the whole result is on this page (every exact lookup)
    total = connection.execute(count_statement, {**params, "cap": COUNT_CAP + 1}).scalar_one()
    return found, total


@requires("customer.read")
def search_customers(
    session: Session,
    *,
    actor: Actor,
    query: str = "",
    filters: CustomerFilter = CustomerFilter(),  # noqa: B008 (frozen, so sharing is safe)
    sort: str = "-created",
    page: int = 1,
    page_size: int = 20,
) -> CustomerPage:
    """One page of matching customers and the count (capped at COUNT_CAP + 1: see
    CustomerPage.total_capped). Audited; needs a write session."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    mode, term = classify_query(query)
    session.flush()  # what this unit of work added is found too, as with ORM queries
    connection = session.connection()
    params = _filter_params(filters)
    used = tuple(name[2:] for name in params)
    if mode == "name":  # the term shapes the statement (and LIKE needs it escaped): build it
        conditions = _filter_conditions(used, filters.include_merged)
        conditions.append(_name_condition(session, query))
        statements = (_page_statement(conditions, sort), _count_statement(conditions))
    else:
        statements = _statements(mode, used, filters.include_merged, sort)
        params.update(_query_params(connection, mode, term))
    found, total = _page_and_count(connection, statements, params, window)
    rows = _rows(session, connection, found) if found else []
    detail: dict[str, object] = {"hits": total, "mode": mode}
    if term:
        detail["term"] = crypto.keyed_hash(get_keys().audit, term)
    missed = bool(term) and total == 0
    audit.record(
        session, actor=actor, action=SEARCH_ACTION, outcome=MISS if missed else "ok", detail=detail
    )
    if missed:
        _alert_on_misses(session, actor)
    return CustomerPage(rows, total)


# Built once: it runs on every miss (index ix_audit_log_actor_action_time).
_RECENT_MISSES = select(func.count(AuditEntry.id)).where(
    AuditEntry.actor_id == bindparam("actor_id"),
    AuditEntry.action == SEARCH_ACTION,
    AuditEntry.created_at >= bindparam("since"),
    AuditEntry.outcome == MISS,
)


def _alert_on_misses(session: Session, actor: Actor) -> None:
    """More than the threshold of misses by one user in 10 minutes: one alert to cs_manager."""
    if actor.user_id is None:
        return
    since = clock.now() - ALERT_WINDOW
    misses = (
        session.connection()
        .execute(_RECENT_MISSES, {"actor_id": actor.user_id, "since": since})
        .scalar_one()
    )
    if misses <= get_settings().search_alert_threshold:
        return
    already = session.exec(
        select(AuditEntry.id)
        .where(
            AuditEntry.actor_id == actor.user_id,
            AuditEntry.action == ALERT_ACTION,
            AuditEntry.created_at >= since,
        )
        .limit(1)
    ).first()
    if already is not None:
        return
    outbox.alert_role(
        session,
        role=CS_MANAGER,
        subject_key="alert.search_misses.subject",
        body_key="alert.search_misses.body",
        params={"username": actor.name, "count": misses},
    )
    audit.record(
        session,
        actor=actor,
        action=ALERT_ACTION,
        target_type="user",
        target_id=actor.user_id,
        detail={"misses": misses},
    )


@requires("customer.read", reads=True)
def list_tags(session: Session, *, actor: Actor) -> list[str]:
    """Every tag in use, for the tag filter."""
    return list(
        session.exec(select(CustomerTag.tag).distinct().order_by(CustomerTag.tag)).scalars()
    )


# --- duplicate candidates (the review list) ---------------------------------------------------

DUPLICATE_REASONS = {
    "phone": Customer.phone_bidx,
    "id_number": Customer.id_number_bidx,
    "name_birth": Customer.name_birth_bidx,
}


@dataclass(frozen=True)
class DuplicateMember:
    id: int
    number: str
    name: str


@dataclass(frozen=True)
class DuplicateGroup:
    reason: str  # i18n key: customer.dup.phone | .id_number | .name_birth
    members: list[DuplicateMember]


def _groups():  # noqa: ANN202
    """(reason, key, latest id) of every blind index that more than one live customer shares.

    The inner GROUP BY reads only the index (merged customers included), which is several
    times faster than reading the table; the outer one re-checks just those few keys.
    """
    parts = []
    for reason, column in DUPLICATE_REASONS.items():
        shared = select(column).where(column.is_not(None)).group_by(column).having(func.count() > 1)
        parts.append(
            select(
                literal_column(f"'{reason}'").label("reason"),
                column.label("key"),
                func.max(Customer.id).label("latest"),
            )
            .where(column.in_(shared), Customer.merged_into_id.is_(None))
            .group_by(column)
            .having(func.count(Customer.id) > 1)
        )
    return union_all(*parts).subquery()


@requires("customer.read", reads=True)
def duplicate_groups(
    session: Session, *, actor: Actor, page: int = 1, page_size: int = 20
) -> tuple[list[DuplicateGroup], int]:
    """One page of duplicate candidates (same phone, ID number, or name + birth date), the
    group with the newest customer first, and the number of groups."""
    window = page_window(page, page_size, max_size=MAX_PAGE_SIZE)
    groups = _groups()
    # One pass gives the count and the page: the groups are few (keys only), and grouping
    # twice (count, then page) would double the one costly part.
    every = session.exec(
        select(groups.c.reason, groups.c.key).order_by(groups.c.latest.desc(), groups.c.reason)
    ).all()
    total = len(every)
    found = every[window.offset : window.end]
    keys_by_reason: dict[str, list[str]] = {}
    for reason, key in found:
        keys_by_reason.setdefault(reason, []).append(key)
    members: dict[tuple[str, str], list[DuplicateMember]] = {}
    for reason, keys in keys_by_reason.items():
        column = DUPLICATE_REASONS[reason]
        for customer_id, number, name, key in session.exec(
            select(Customer.id, Customer.number, Customer.name, column)
            .where(column.in_(keys), Customer.merged_into_id.is_(None))
            .order_by(Customer.id)
        ).all():
            members.setdefault((reason, key), []).append(DuplicateMember(customer_id, number, name))
    return [
        DuplicateGroup(reason=f"customer.dup.{reason}", members=members[(reason, key)])
        for reason, key in found
    ], total
