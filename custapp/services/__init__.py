"""The domain: plain functions taking a Session and the acting Actor (DESIGN.md)."""

# Registers the denial audit with db.session_scope before any service can refuse anything.
from custapp.services import denials  # noqa: F401
