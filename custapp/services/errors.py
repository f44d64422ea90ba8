"""Domain errors: each carries an i18n message key, never a value of customer data."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the user should read: `key` names the message in the catalogue."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class NotFound(DomainError):
    pass


class ValidationFailed(DomainError):
    """Bad input: `errors` maps form field → message key, shown next to each field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("form.has_errors")
        self.errors = errors


class PermissionDenied(DomainError):
    """The actor lacks a permission. Once db.session_scope rolled the work back, the denial is
    audited in its own transaction (services/denials.py)."""

    def __init__(
        self,
        key: str = "error.permission_denied",
        *,
        action: str,
        permission: str | None = None,
        actor=None,  # noqa: ANN001 (Actor; avoid an import cycle)
        target_type: str | None = None,
        target_id: object = None,
        customer_id: int | None = None,
    ) -> None:
        super().__init__(key)
        self.action = action
        self.permission = permission
        self.actor = actor
        self.target_type = target_type
        self.target_id = target_id
        self.customer_id = customer_id
