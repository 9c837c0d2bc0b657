"""Every call the client can build, found by introspecting the builders in jbremote.jetbackup.

A new builder, a new parameter or a new parameter type shows up here without anyone listing it,
so the gate's grammar and the client cannot drift apart unnoticed: either the gate accepts the
new call, or the cross-check tests fail (or this module raises, asking for sample values).
"""

from __future__ import annotations

import enum
import inspect
import itertools
import typing
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from jbremote.jetbackup import destinations, jobs, logs, queues
from jbremote.jetbackup.call import Call

BUILDER_MODULES: tuple[ModuleType, ...] = (jobs, destinations, queues, logs)
JOB_ID = "6504c79fd4b57d536c05bbe2"
# Limits the CLI may reasonably ask for; the gate allows 1..10000.
LIMITS = (1, 10000)


def builders() -> list[Callable[..., Call[Any]]]:
    """Return every public function of the builder modules that returns a :class:`Call`."""
    found: list[Callable[..., Call[Any]]] = []
    for module in BUILDER_MODULES:
        for name, function in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(function):
                continue
            if function.__module__ != module.__name__:
                continue
            returns = typing.get_type_hints(function).get("return")
            if typing.get_origin(returns) is Call:
                found.append(function)
    return found


def samples(annotation: Any, default: Any, id_value: str) -> list[Any]:
    """Return the values a builder parameter of this type is exercised with."""
    if annotation is str:
        return [id_value]
    if annotation == (str | None):
        return [None, id_value]
    if annotation is bool:
        return [False, True]
    if annotation is int:
        return sorted({*LIMITS, *([] if default is inspect.Parameter.empty else [default])})
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return list(annotation)
    raise TypeError(
        f"no sample values for parameter type {annotation!r}: "
        "teach tests/unit/gate/client_calls.py (and the gate) about it"
    )


def every_call(id_value: str = JOB_ID) -> Iterator[tuple[str, Call[Any]]]:
    """Yield ``(label, call)`` for every builder and every combination of sample arguments."""
    for builder in builders():
        hints = typing.get_type_hints(builder)
        parameters = list(inspect.signature(builder).parameters.values())
        choices = [samples(hints[p.name], p.default, id_value) for p in parameters]
        for combo in itertools.product(*choices):
            label = f"{builder.__name__}({', '.join(repr(v) for v in combo)})"
            yield label, builder(*combo)
