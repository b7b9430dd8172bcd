"""Reading configuration files (calendars, SLA policies) with errors that name the file."""

from __future__ import annotations

import tomllib
from os import PathLike
from typing import Any

from csmetrics.exceptions import CsMetricsError


def read_toml(path: str | PathLike[str], error: type[CsMetricsError], what: str) -> dict[str, Any]:
    """The TOML file at ``path`` as a dict; a missing or malformed file raises ``error``."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise error(f"{path}: {what} file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML ({exc})") from None
