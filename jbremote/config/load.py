"""Read a config file (YAML or JSON) and report every problem at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from jbremote.config.checks import cross_check
from jbremote.config.errors import ConfigError, Problem, format_path
from jbremote.config.models import Config


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys instead of keeping the last one.

    A repeated server name would otherwise silently replace the first server.
    """


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def parse_text(text: str, source: str) -> Any:
    """Given file text, return its data (JSON when the source ends in .json, else YAML).

    Raise :class:`ConfigError` with the line and column of a syntax error.
    """
    if source.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(source, [Problem(f"line {exc.lineno}", exc.msg)]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "syntax"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, [Problem(where, str(problem))]) from None


def validate_data(data: Any, source: str = "config") -> Config:
    """Given parsed data, return the :class:`Config`. Raise :class:`ConfigError` listing all problems."""
    if not isinstance(data, dict):
        raise ConfigError(
            source, [Problem("", "the file must hold a mapping (servers, targets, jobs, …)")]
        )
    problems: list[Problem] = []
    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(format_path(err["loc"]), _message(err))
            for err in exc.errors(include_input=False)
        ]
    problems += cross_check(data)
    if problems or config is None:
        raise ConfigError(source, problems)
    return config


def load_config(path: str | Path) -> Config:
    """Given a config file path, return the validated config. Raise :class:`ConfigError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [Problem("", f"cannot read: {exc.strerror or exc}")]) from None
    return validate_data(parse_text(text, str(path)), str(path))


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (not part of the config schema)"
    if err["type"] == "missing":
        return "required"
    msg: str = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] == "string_pattern_mismatch" and err["loc"] and err["loc"][-1] == "id":
        return "must be a JetBackup id: 24 lowercase hex characters"
    return msg
