"""Roles and the permissions they grant: the one table of code (SPEC §1).

Services check permissions; pages only hide what a role cannot use.
"""

from __future__ import annotations

from collections.abc import Iterable

from custapp.vocab import Role

FRONT_DESK = Role.FRONT_DESK
CS_MANAGER = Role.CS_MANAGER
COMPLIANCE = Role.COMPLIANCE
AUDITOR = Role.AUDITOR
SYSADMIN = Role.SYSADMIN
MEMBER = Role.MEMBER

STAFF_ROLES = (FRONT_DESK, CS_MANAGER, COMPLIANCE, AUDITOR, SYSADMIN)
ALL_ROLES = (*STAFF_ROLES, MEMBER)

_FRONT_DESK = {
    "customer.read",
    "customer.create",
    "customer.update",
    "customer.reveal.l1",
    "consent.record",
    "rights.file",
    "purchase.post",
    "topup.post",
    "card.issue",
    "complaint.create",
    "complaint.handle",
    "service_log.write",
    "attachment.read",
    "attachment.write",
    "access_request.file",
    "message.read",
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    FRONT_DESK: frozenset(_FRONT_DESK),
    CS_MANAGER: frozenset(
        _FRONT_DESK
        | {
            "customer.reveal.l2",
            "customer.grade_override",
            "customer.merge",
            "customer.classify",
            "campaign.manage",
            "redemption.approve",
            "approval.decide",
            "gift.manage",
            "points.adjust",
            "purchase.void",
            "card.close",
            "card.tier.manage",
            "access_request.approve",
            "export.approve",
            "complaint.assign",
            "complaint.close",
            "report.read",
            # retention (issue 16, RT): the second approver of a rule change
            "retention.read",
            "retention.approve",
            # destruction (issue 16, DS): the second approver, never the appraiser
            "destruction.approve",
            "destruction.queue",
            "destruction.read",
        }
    ),
    COMPLIANCE: frozenset(
        {
            "customer.read",
            "consent.manage",
            "provision.manage",
            "rights.manage",
            "rights.file",
            "incident.manage",
            "retention.manage",
            "retention.read",  # issue 16, RT
            "retention.approve",  # issue 16, RT: never for their own proposal
            "destruction.approve",
            # destruction (issue 16, DS): appraise (counts as proposing), approve another's
            "destruction.appraise",
            "destruction.queue",
            "destruction.read",
            "legal_hold.manage",
            "message.read",
        }
    ),
    AUDITOR: frozenset({"audit.read", "access_register.read", "destruction.read", "message.read"}),
    SYSADMIN: frozenset(
        {"user.manage", "settings.manage", "keys.manage", "backup.manage", "message.read"}
        | {"jobs.manage"}  # issue 17: the 任务 page (the scheduled steps, 立即运行)
    ),
    MEMBER: frozenset({"member.self"}),
}

# Permissions that touch customer business data: sysadmin must never hold one (002 ACC-05).
CUSTOMER_DATA_PREFIXES = (
    "customer.",
    "consent.",
    "purchase.",
    "topup.",
    "card.",
    "complaint.",
    "service_log.",
    "attachment.",
    "points.",
    "redemption.",
    "provision.",
    "rights.",
    "campaign.",
    "member.",
)

# A sysadmin account holds no other role: it would mix administration with customer data or
# with auditing the administrators themselves (SPEC §8, separation of duties).
EXCLUSIVE_ROLES = frozenset({SYSADMIN})


def permissions_for(roles: Iterable[str]) -> frozenset[str]:
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)


def is_customer_data_permission(permission: str) -> bool:
    return permission.startswith(CUSTOMER_DATA_PREFIXES)


def role_combination_problem(roles: Iterable[str]) -> str | None:
    """An i18n key when the set of roles breaks separation of duties, else None."""
    roles = set(roles)
    unknown = roles - set(STAFF_ROLES)
    if unknown:
        return "users.error.unknown_role"
    if roles & EXCLUSIVE_ROLES and len(roles) > 1:
        return "users.error.sysadmin_exclusive"
    return None
