"""Reading spec files: YAML parsed with every failure turned into one line naming the path and field.

Schedules, run configs and sweep files all report a bad file the same way: a ``SpecError`` whose
message is the one line a user sees (``tierlab`` prints it and exits with code 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class SpecError(ValueError):
    """A schedule or config that cannot be used; the message is one line naming source and field."""


def describe_validation_error(err: ValidationError, source: str) -> str:
    """One line naming the source, the first offending field and what is wrong with it."""
    first = err.errors()[0]
    location = ".".join(str(part) for part in first["loc"] if not str(part).startswith("function-"))
    message = first["msg"].removeprefix("Value error, ")
    if ": " in message and not location and first["type"] == "value_error":
        location, message = message.split(": ", 1)
    elif ": " in message and first["type"] == "value_error" and message.split(": ", 1)[0].replace(".", "").replace("_", "").isalnum():
        head, message = message.split(": ", 1)
        location = f"{location}.{head}"
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "missing":
        message = "missing required value"
    suffix = f" (and {len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    where = f"{source}: {location}: " if location else f"{source}: "
    return f"{where}{message}{suffix}"


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file, turning every failure into one SpecError line naming the path."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SpecError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a text file (not valid UTF-8)") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SpecError(f"{path}: not valid YAML{where}: {problem}") from None
