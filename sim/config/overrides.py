"""``--set dotted.key=value`` overrides: parsed as YAML values and set into a config's mapping."""

from __future__ import annotations

from typing import Any

import yaml

from sim.config.section import ConfigError


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a", "b", "c"], value parsed as YAML); ConfigError on a bad form."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text}: expected dotted.key=value")
    parts = key.strip().split(".")
    if any(not p for p in parts):
        raise ConfigError(f"--set {text}: empty part in key {key!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return parts, value


def apply_override(data: dict[str, Any], parts: list[str], value: Any, source: str = "--set") -> None:
    """Set ``data[parts[0]][parts[1]]... = value`` in place: integer parts index lists, missing
    mappings are created on the way; ConfigError (naming ``source`` and the key) otherwise."""
    key = ".".join(parts)
    node: Any = data
    for i, part in enumerate(parts):
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"{source}: {where}: no such item (the list has {len(node)})")
            slot: Any = int(part)
        elif isinstance(node, dict):
            slot = part
        elif i == 1 and parts[0] == "schedule":
            raise ConfigError(f"{source}: {key}: schedule is a file path here; set 'schedule' itself "
                              "to a path or an inline mapping")
        else:
            raise ConfigError(f"{source}: {key}: {'.'.join(parts[:i])} is a value, not a section")
        if i == len(parts) - 1:
            node[slot] = value
        else:
            if isinstance(node, dict) and node.get(slot) is None:
                node[slot] = {}
            node = node[slot]

