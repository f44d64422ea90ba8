"""门店 (stores). Store names are not customer data: any logged-in user may read them."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlmodel import Session

from custapp import clock
from custapp.models import Store
from custapp.services import audit
from custapp.services.actor import Actor
from custapp.services.errors import ValidationFailed
from custapp.services.guard import requires

CODE = re.compile(r"^[A-Z0-9-]{2,20}$")


def store_names(session: Session, store_ids: tuple[int, ...] | list[int]) -> dict[int, str]:
    if not store_ids:
        return {}
    rows = session.exec(select(Store.id, Store.name).where(Store.id.in_(list(store_ids)))).all()
    return {row[0]: row[1] for row in rows}


@requires("settings.manage")
def create_store(session: Session, *, actor: Actor, code: str, name: str) -> int:
    code, name = (code or "").strip().upper(), (name or "").strip()
    errors = {}
    if not CODE.match(code):
        errors["code"] = "stores.error.code_format"
    elif session.exec(select(Store.id).where(Store.code == code)).first():
        errors["code"] = "stores.error.code_taken"
    if not name:
        errors["name"] = "validation.required"
    if errors:
        raise ValidationFailed(errors)
    store = Store(code=code, name=name, created_at=clock.now())
    session.add(store)
    session.flush()
    audit.record(
        session, actor=actor, action="store.create", target_type="store", target_id=store.id
    )
    return store.id
