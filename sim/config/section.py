"""The base of every config section, and the one-line error every config problem becomes.

Every section is a pydantic model with ``extra="forbid"``, so a misspelt key is an error naming it.
Errors reach the user as one line (``ConfigError``) naming the file, the field and the problem.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from sim.schedules import SpecError

ConfigError = SpecError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

