"""SQL that migrations share. It is kept stable: a migration already run must keep producing
the same statements."""

from __future__ import annotations


def append_only_triggers(dialect: str, table: str, columns: tuple[str, ...]) -> list[str]:
    """Triggers refusing UPDATE of `columns`, DELETE and (PostgreSQL) TRUNCATE on `table`.
    PostgreSQL's use the function custapp_append_only() that migration 0006 created."""
    cols = ", ".join(columns)
    if dialect == "postgresql":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OF {cols} ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION custapp_append_only()",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION custapp_append_only()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION custapp_append_only()",
        ]
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OF {cols} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
    ]
