"""What the profile's tabs share with the profile page, without importing it.

The profile view (customer_profile/view.py) imports every tab; a tab must never import the
profile's state or view module back. A tab imports only this module:

- `ProfileBase`: the parent state of `ProfileState`. It holds `cid`, the id of the customer the
  profile shows (after a merge redirect: the surviving customer, not the id in the address).
  `ProfileState` sets it in its `load`; it stays 0 until the profile has loaded.
- `await profile_cid(state) -> int`: that id, read from any state (0 when no profile is loaded).
- `address_cid(state) -> int`: the `cid` in the page address (`/customers/[cid]`), 0 when it is
  not a number; for synchronous handlers that need no profile lookup.
- `await refresh_profile(state) -> list`: re-reads the profile's overview (its classification
  facts) after a tab changed them, off the event loop; returns the events to send back (error
  toasts), [] when no profile is loaded.
- `ProfileBase._refetch()`: the hook `refresh_profile` calls; `ProfileState` overrides it.
"""

from __future__ import annotations

import reflex as rx

from custapp.states.off_loop import run_off_loop
from custapp.states.session import SessionState


class ProfileBase(SessionState):
    """The customer the profile shows; `ProfileState` (state.py) subclasses it."""

    cid: int = 0

    def _refetch(self) -> list[rx.event.EventSpec]:
        """Re-read what the profile shows; the profile state overrides it."""
        return []


async def profile_cid(state: rx.State) -> int:
    """The id of the customer the loaded profile shows (0 when none is loaded)."""
    return (await state.get_state(ProfileBase)).cid


def address_cid(state: rx.State) -> int:
    """The `cid` of the page address, 0 when it is missing or not a number."""
    raw = str(state.router.page.params.get("cid", ""))
    return int(raw) if raw.isdecimal() else 0


async def refresh_profile(state: rx.State) -> list[rx.event.EventSpec]:
    """The profile's overview re-read (after a tab changed its facts); [] when none is loaded."""
    events: list[rx.event.EventSpec] = []
    if not await profile_cid(state):
        return events
    for cls in ProfileBase.get_substates():
        profile = await state.get_state(cls)
        events.extend(await run_off_loop(profile._refetch))
    return events
