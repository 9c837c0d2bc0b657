"""The config's JSON Schema, for editors (``jbremote config schema``).

Generated from the pydantic models, then completed where the models accept more, or less, than
pydantic can describe: a secret field takes only a reference (``env:NAME`` /
``prefect-secret:NAME``), and a target's destination may be one id instead of a list.
"""

from __future__ import annotations

import copy
from typing import Any

from jbremote.config.models import Config
from jbremote.config.secrets import REF_PATTERN

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_REFERENCE = {
    "type": "string",
    "pattern": REF_PATTERN.pattern,
    "description": "a reference: env:NAME or prefect-secret:block-name (never the secret)",
}


def config_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a jbremote config file."""
    schema = Config.model_json_schema()
    defs = schema["$defs"]
    passphrase = defs["Server"]["properties"]["key_passphrase"]
    passphrase["anyOf"] = [dict(_REFERENCE), {"type": "null"}]
    url = defs["NotifyUrl"]["properties"]["url"]
    url.update(_REFERENCE)
    destinations = defs["Target"]["properties"]["destinations"]
    for pattern, array in list(destinations["patternProperties"].items()):
        single = copy.deepcopy(array["items"])
        destinations["patternProperties"][pattern] = {"anyOf": [single, array]}
    destinations["additionalProperties"] = False
    return {"$schema": DRAFT, "title": "jbremote configuration", **schema}
