"""Model specs on benchmark command lines: ``name:key=value,...`` → a registered model name and
its builder options, shared by the scripts that time arbitrary networks."""

from __future__ import annotations

import json


def parse_spec(spec: str) -> tuple[str, dict]:
    """'name:k=v,k2=v2' → (name, {k: v}) with JSON values parsed (ints, floats, booleans)."""
    name, _, rest = spec.partition(":")
    opts: dict = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        try:
            opts[key] = json.loads(value)
        except json.JSONDecodeError:
            opts[key] = value
    return name, opts
