"""The vocabulary: one place for the domain's words, equal to the strings the database holds."""

from __future__ import annotations

import ast
import enum
import inspect
import re

from custapp import vocab
from custapp.models import ApprovalRequest
from custapp.models import approvals as approval_models
from custapp.models import complaints as complaint_models
from custapp.models import membership as membership_models
from custapp.services import complaints, consent, rights

ENUMS = [
    value
    for value in vars(vocab).values()
    if isinstance(value, type) and issubclass(value, enum.StrEnum) and value is not enum.StrEnum
]


def test_vocab_imports_nothing_from_custapp() -> None:
    tree = ast.parse(inspect.getsource(vocab))
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.startswith("custapp")]


def test_every_word_is_its_stored_string() -> None:
    assert len(ENUMS) >= 30
    for words in ENUMS:
        values = [member.value for member in words]
        assert len(set(values)) == len(values), words
        for member in words:
            assert member == member.value and f"{member}" == member.value
            assert re.fullmatch(r"[a-z][a-z0-9_.]*|[A-E]", member.value), member


def test_the_tuples_services_export_are_the_enums_in_order() -> None:
    assert complaint_models.STATUSES == (
        "received", "investigating", "solution_proposed", "customer_informed", "return_visit",
        "closed", "on_hold", "reopened",
    )  # fmt: skip
    assert "closed" not in complaint_models.OPEN_STATUSES
    assert complaints.MOVES["solution_proposed"] == ("customer_informed", "investigating")
    assert rights.STAFF_CHANNELS == ("counter", "phone", "letter")
    assert rights.STATUSES == ("open", "in_progress", "done", "refused")
    assert consent.STATES["withdraw"] == "withdrawn"
    assert membership_models.CARD_STATUSES == ("active", "lost", "closed")


def test_check_constraints_name_the_same_values() -> None:
    [check] = [
        c for c in ApprovalRequest.__table__.constraints if c.name == "ck_approval_requests_kind"
    ]
    named = re.findall(r"'([a-z_]+)'", str(check.sqltext))
    assert named == list(vocab.ApprovalKind) == list(approval_models.APPROVAL_KINDS)
