"""Arguments a browser sends to an event handler, checked against the handler's type hints.

Any browser can send any event with any payload. Reflex converts what it can (text to a number
for an `int` parameter) and passes the rest through, so a handler hinted `user_id: str` could
receive a dict, a list, None or a number past every id column, and fail somewhere inside with
"An error occurred." in the browser. SessionState wraps every handler with `checked` when Reflex
registers it: a call whose arguments do not bind to the signature or do not fit the hints is
refused with a message before the handler runs; a fitting call runs unchanged.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import typing
from collections.abc import Callable
from typing import Any

from reflex.state import EventHandlerSetVar
from reflex_base.event import EventHandler
from reflex_base.utils.types import _isinstance

logger = logging.getLogger(__name__)

# The widest number a database column or an offset takes (BIGINT).
INT64 = (-(2**63), 2**63 - 1)


class Refused(Exception):
    """The arguments of one call do not fit the handler."""


def _plain(value: object) -> bool:
    """No number past 64 bits and no NaN or infinity anywhere in the value."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return INT64[0] <= value <= INT64[1]
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return all(_plain(v) for v in value)
    return True


def _fit(value: object, hint: Any) -> object:  # noqa: ANN401 (any hinted type)
    """The value for a parameter hinted `hint`, else Refused.

    A number sent for a text parameter is taken as its text: a view passing a row's numeric id
    to a handler hinted `str` is a legitimate call."""
    if not _plain(value):
        raise Refused
    if hint is str and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not _isinstance(value, hint, nested=1):
        raise Refused
    return value


def checked(fn: Callable, refusal: Callable[[Any], Any]) -> Callable:
    """`fn` (an event handler's function) refusing arguments that do not fit its hints:
    `refusal(state)` is what the browser gets instead (a toast)."""
    signature = inspect.signature(fn)

    @functools.cache
    def hints() -> dict[str, Any]:
        # on first use, not at class creation: a hint may name something defined after the class
        return typing.get_type_hints(fn)

    def bind(args: tuple, kwargs: dict) -> inspect.BoundArguments | None:
        try:
            bound = signature.bind(*args, **kwargs)
            for name, value in list(bound.arguments.items())[1:]:  # [0] is the state
                bound.arguments[name] = _fit(value, hints().get(name, Any))
        except (TypeError, Refused):
            logger.warning("refused %s: arguments do not fit its signature", fn.__qualname__)
            return None
        return bound

    if inspect.isasyncgenfunction(fn):

        async def handler(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            bound = bind(args, kwargs)
            if bound is None:
                yield refusal(args[0])
                return
            async for event in fn(*bound.args, **bound.kwargs):
                yield event

    elif inspect.iscoroutinefunction(fn):

        async def handler(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            bound = bind(args, kwargs)
            if bound is None:
                return refusal(args[0])
            return await fn(*bound.args, **bound.kwargs)

    elif inspect.isgeneratorfunction(fn):

        def handler(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            bound = bind(args, kwargs)
            if bound is None:
                yield refusal(args[0])
                return None
            return (yield from fn(*bound.args, **bound.kwargs))

    else:

        def handler(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            bound = bind(args, kwargs)
            if bound is None:
                return refusal(args[0])
            return fn(*bound.args, **bound.kwargs)

    return functools.wraps(fn)(handler)


class CheckedSetVar(EventHandlerSetVar):
    """Reflex's setvar(name, value), which every state has: the state's own `set_<name>` handler,
    checked like any other; a name without one is refused."""

    def __init__(self, state_cls: type, refusal: Callable[[Any], Any]) -> None:
        def setvar(state: Any, var_name: str, value: Any) -> Any:  # noqa: ANN401
            if not isinstance(getattr(type(state), f"set_{var_name}", None), EventHandler):
                return refusal(state)
            return getattr(state, f"set_{var_name}")(value)

        EventHandler.__init__(self, fn=checked(setvar, refusal), state=state_cls)
