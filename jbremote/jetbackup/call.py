"""A JetBackup API call as data: the argument list to send and how to read the answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from jbremote.jetbackup.command import API_BINARY, ParamValue, api_argv

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class ShapeError(ValueError):
    """``data`` does not have the shape the API documents."""


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API function call: ``function`` with ``params``, answered through ``parse``.

    ``mutating`` calls change server state (trigger, enable/disable, stop): a transport error
    after they were sent must be resolved by reading state, never by sending them again.
    """

    function: str
    params: tuple[tuple[str, ParamValue], ...]
    parse: Callable[[Any], T]
    mutating: bool = False

    def argv(self, binary: str = API_BINARY) -> list[str]:
        return api_argv(self.function, self.params, binary)


def parse_object(model: type[M]) -> Callable[[Any], M]:
    """Return a parser that reads ``data`` as one ``model`` object."""

    def parse(data: Any) -> M:
        if not isinstance(data, Mapping):
            raise ShapeError(f"expected an object, got {type(data).__name__}")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ShapeError(_first_error(exc)) from None

    return parse


def parse_list(model: type[M], key: str) -> Callable[[Any], list[M]]:
    """Return a parser that reads ``data[key]`` as a list of ``model`` objects.

    A numeric-keyed map is accepted as a list (the plain rendering shows lists that way).
    """

    def parse(data: Any) -> list[M]:
        if not isinstance(data, Mapping):
            raise ShapeError(f"expected an object with {key!r}, got {type(data).__name__}")
        items = data.get(key)
        if items in (None, ""):
            return []
        if isinstance(items, Mapping):
            items = list(items.values())
        if not isinstance(items, Sequence) or isinstance(items, str):
            raise ShapeError(f"{key!r} is not a list")
        try:
            return [model.model_validate(item) for item in items]
        except ValidationError as exc:
            raise ShapeError(f"{key}: {_first_error(exc)}") from None

    return parse


def parse_message(data: Any) -> None:
    """For action calls whose ``data`` is empty: accept anything."""
    return None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_input=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else str(err["msg"])
