"""Alembic environment: the database URL comes from custapp.settings (CUSTAPP_DATABASE_URL)."""

from alembic import context
from sqlmodel import SQLModel

import custapp.models  # noqa: F401  (registers every table)
from custapp.db import get_engine

target_metadata = SQLModel.metadata


# Objects made by hand in migrations that the models cannot describe (a PostgreSQL expression index).
HAND_MADE = {"ix_customers_name_grams"}


def _include_object(obj, name, type_, reflected, compare_to):  # noqa: ANN001, ANN202
    return name not in HAND_MADE


def run_migrations_online() -> None:
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    with get_engine().connect() as connection:
        _run(connection)


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
