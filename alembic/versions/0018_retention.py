"""retention rules (issue 16)

Revision ID: 0018
Revises: 0017

- retention_rules: one rule per data category (period in whole months > 0, what happens at the
  end, the basis in Chinese), seeded with the defaults below (reasoning in docs/decisions.md,
  "Retention rules (issue 16, RT)"). Compliance changes them in the app with a second approver.
- retention_changes: the proposed changes, at most one pending per category.
- attachments get an index on (created_at, id): the daily scan finds expired attachments by an
  index range instead of reading every row of a table that holds the files.

The defaults are written here, not imported: a later change of the code must not change what
this migration did.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sqlmodel.sql.sqltypes.UTCDateTime
_STR = sqlmodel.sql.sqltypes.AutoString

DEFAULT_RULES = [
    (
        "customer_archive",
        36,
        "destroy",
        "《个人信息保护法》第十九条：保存期限应为实现处理目的所必要的最短时间。业务关系结束"
        "（最后一次消费、服务或投诉已过期限，且无有效会员卡）后保留36个月，覆盖《民法典》"
        "第一百八十八条规定的三年诉讼时效，以便处理售后与争议；期满销毁。",
    ),
    (
        "orders_ledgers",
        360,
        "anonymise",
        "《会计档案管理办法》第十四条及附表：会计凭证、会计账簿保管30年。订单、付款、储值与"
        "积分流水是记账依据，保留360个月；客户销毁后金额保留在匿名记录下，账目合计不变。",
    ),
    (
        "service_log",
        36,
        "destroy",
        "服务/沟通记录仅为提供服务所必要，自记录起保留36个月（三年诉讼时效），期满销毁。",
    ),
    (
        "complaints",
        36,
        "destroy",
        "投诉结案后保留36个月，以备复查、监管检查与诉讼（三年诉讼时效），期满销毁。",
    ),
    (
        "consent_evidence",
        72,
        "anonymise",
        "同意记录是合法处理的证明（《个人信息保护法》第十三条、第十四条）：在客户档案的36个月"
        "之外再保留36个月，共72个月，以应对投诉、监管检查与诉讼；期满匿名化，只留不含个人"
        "信息的统计。",
    ),
    (
        "attachments",
        36,
        "destroy",
        "证件复印件、申请表、合同等附件自上传起保留36个月，期满销毁；同意书扫描件按同意证据"
        "的规则保存。",
    ),
    (
        "audit_log",
        36,
        "seal",
        "《网络安全法》第二十一条：网络日志留存不少于六个月。审计日志不含个人信息的值，保留"
        "36个月以覆盖诉讼时效；期满以签名锚点封存，删除更早的记录。",
    ),
    (
        "backups",
        12,
        "destroy",
        "备份保留最长的一组为12个月的月备份；超过12个月的备份删除。备份中已销毁客户的信息因"
        "其密钥已删除而不可读。",
    ),
]


def upgrade() -> None:
    from datetime import UTC, datetime

    rules = op.create_table(
        "retention_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", _STR(length=30), nullable=False),
        sa.Column("period_months", sa.Integer(), nullable=False),
        sa.Column("action", _STR(length=10), nullable=False),
        sa.Column("basis", _STR(length=500), nullable=False),
        sa.Column("updated_at", _UTC(), nullable=False),
        sa.Column("updated_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.CheckConstraint("period_months > 0", name="ck_retention_rules_period"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("category"),
    )
    op.create_table(
        "retention_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "category",
            _STR(length=30),
            sa.ForeignKey("retention_rules.category"),
            nullable=False,
        ),
        sa.Column("period_months", sa.Integer(), nullable=False),
        sa.Column("action", _STR(length=10), nullable=False),
        sa.Column("basis", _STR(length=500), nullable=False),
        sa.Column("reason", _STR(length=200), nullable=False),
        sa.Column("old_period_months", sa.Integer(), nullable=False),
        sa.Column("old_action", _STR(length=10), nullable=False),
        sa.Column("status", _STR(length=10), nullable=False),
        sa.Column("proposed_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("proposed_at", _UTC(), nullable=False),
        sa.Column("decided_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("decided_at", _UTC(), nullable=True),
        sa.Column("decision_note", _STR(length=200), nullable=False),
        sa.Column("notice_version", sa.Integer(), nullable=True),
        sa.CheckConstraint("period_months > 0", name="ck_retention_changes_period"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_retention_changes_status", "retention_changes", ["status", "id"])
    op.create_index(
        "ux_retention_changes_pending",
        "retention_changes",
        ["category"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_attachments_created", "attachments", ["created_at", "id"])
    now = datetime.now(UTC)
    op.bulk_insert(
        rules,
        [
            {
                "category": category,
                "period_months": months,
                "action": action,
                "basis": basis,
                "updated_at": now,
            }
            for category, months, action, basis in DEFAULT_RULES
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_attachments_created", table_name="attachments")
    op.drop_index("ux_retention_changes_pending", table_name="retention_changes")
    op.drop_index("ix_retention_changes_status", table_name="retention_changes")
    op.drop_table("retention_changes")
    op.drop_table("retention_rules")
