"""The canonical event log: column names, dtypes, vocabularies and the channel taxonomy.

Everything downstream of an adapter reads only these columns (DESIGN §2). The vocabularies
are Polars :class:`~polars.Enum` dtypes whose category order is also the tie-break order of
events that share a time stamp (DESIGN §2.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

import polars as pl

__all__ = [
    "ACTORS",
    "ACTOR_DTYPE",
    "CHANNEL_KINDS",
    "CHANNEL_KIND_DTYPE",
    "DEFAULT_CHANNELS",
    "EVENT_TYPES",
    "EVENT_TYPE_DTYPE",
    "OPTIONAL_COLUMNS",
    "PUBLIC_KINDS",
    "REQUIRED_COLUMNS",
    "STATUSES",
    "STATUS_DTYPE",
    "TS_DTYPE",
    "ChannelKind",
    "channel_kind_expr",
    "is_public_expr",
]

EVENT_TYPES: Final[tuple[str, ...]] = (
    "case_created",
    "message",
    "note",
    "status_changed",
    "assigned",
    "transferred",
    "escalated",
    "priority_changed",
    "comp_granted",
    "csat",
    "call_abandoned",
    "bot_handoff",
    "merged",
)
"""Event types in tie-break order: at equal ``ts``, ``case_created`` sorts first."""

ACTORS: Final[tuple[str, ...]] = ("customer", "agent", "bot", "system")
"""Who did it, in tie-break order (``customer`` first). Auto-replies are ``system``."""

STATUSES: Final[tuple[str, ...]] = ("new", "open", "pending", "on_hold", "solved", "closed")
"""Case statuses; ``new`` holds from creation until the first ``status_changed``."""

RESOLVED_STATUSES: Final[tuple[str, ...]] = ("solved", "closed")
"""Statuses in which a case counts as resolved."""

EVENT_TYPE_DTYPE: Final = pl.Enum(EVENT_TYPES)
ACTOR_DTYPE: Final = pl.Enum(ACTORS)
STATUS_DTYPE: Final = pl.Enum(STATUSES)
TS_DTYPE: Final = pl.Datetime("us", "UTC")
"""Every time stamp is stored as microseconds in UTC."""

ChannelKind = Literal["voice", "email", "chat", "messaging", "social", "web", "other"]
CHANNEL_KINDS: Final[tuple[str, ...]] = (
    "voice",
    "email",
    "chat",
    "messaging",
    "social",
    "web",
    "other",
)
CHANNEL_KIND_DTYPE: Final = pl.Enum(CHANNEL_KINDS)

PUBLIC_KINDS: Final[frozenset[str]] = frozenset({"social"})
"""Channel kinds whose messages are public (seen by the world) unless ``is_public`` says not."""

DEFAULT_CHANNELS: Final[Mapping[str, str]] = {
    **dict.fromkeys(("phone", "voice", "call", "callback"), "voice"),
    **dict.fromkeys(("email", "mail"), "email"),
    **dict.fromkeys(("chat", "live_chat", "webchat"), "chat"),
    **dict.fromkeys(
        ("whatsapp", "sms", "messenger", "telegram", "wechat", "line", "apple_messages", "rcs"),
        "messaging",
    ),
    **dict.fromkeys(
        (
            "twitter",
            "x",
            "facebook",
            "instagram",
            "tiktok",
            "youtube",
            "linkedin",
            "reddit",
            "threads",
            "trustpilot",
        ),
        "social",
    ),
    **dict.fromkeys(("web_form", "web", "portal", "in_app", "app"), "web"),
}
"""The built-in channel → kind table (DESIGN §2.4); any other channel is ``other``."""

REQUIRED_COLUMNS: Final[tuple[str, ...]] = (
    "case_id",
    "customer_id",
    "channel",
    "ts",
    "event_type",
    "actor",
)
"""Columns every event log must have (rule R1)."""

KEY_COLUMNS: Final[tuple[str, ...]] = REQUIRED_COLUMNS
"""Columns that may never be null (rule R4)."""

ID_COLUMNS: Final[tuple[str, ...]] = ("event_id", "case_id", "customer_id", "merged_into")
"""Id columns: kept as Int64 when they are integers, else String."""

OPTIONAL_COLUMNS: Final[Mapping[str, pl.DataType]] = {
    "is_public": pl.Boolean(),
    "status": STATUS_DTYPE,
    "agent_id": pl.String(),
    "team": pl.String(),
    "priority": pl.String(),
    "topic": pl.String(),
    "comp_amount": pl.Float64(),
    "csat_score": pl.Float64(),
    "handle_seconds": pl.Float64(),
}
"""Optional canonical columns and their dtypes (ids are handled separately)."""

CANONICAL_COLUMNS: Final[tuple[str, ...]] = (
    "event_id",
    "case_id",
    "customer_id",
    "channel",
    "ts",
    "event_type",
    "actor",
    "is_public",
    "status",
    "agent_id",
    "team",
    "priority",
    "topic",
    "comp_amount",
    "csat_score",
    "handle_seconds",
    "merged_into",
)
"""Canonical columns in their canonical order; any other column passes through after them."""


def channel_kind_expr(
    channels: Mapping[str, str] = DEFAULT_CHANNELS, column: str = "channel"
) -> pl.Expr:
    """The kind of each row's channel (``other`` when the channel is not in ``channels``).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"channel": ["email", "twitter", "pigeon"]})
    >>> df.select(channel_kind_expr())["channel"].to_list()
    ['email', 'social', 'other']
    """
    return (
        pl.col(column)
        .replace_strict(dict(channels), default="other", return_dtype=pl.String)
        .cast(CHANNEL_KIND_DTYPE)
    )


def is_public_expr(
    channels: Mapping[str, str] = DEFAULT_CHANNELS, column: str = "channel"
) -> pl.Expr:
    """Whether each event is public: ``is_public`` when given, else the channel's default.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"channel": ["twitter", "twitter", "email"],
    ...                    "is_public": [None, False, None]})
    >>> df.select(is_public_expr())["is_public"].to_list()
    [True, False, False]
    """
    public_channels = [name for name, kind in channels.items() if kind in PUBLIC_KINDS]
    default = pl.col(column).is_in(public_channels)
    return pl.col("is_public").fill_null(default)


def with_optional_columns(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add the optional canonical columns a frame lacks, as typed nulls (DESIGN §2.1).

    ``merged_into`` takes the dtype of ``case_id``.
    """
    schema = frame.collect_schema()
    missing = [
        pl.lit(None, dtype).alias(name)
        for name, dtype in OPTIONAL_COLUMNS.items()
        if name not in schema
    ]
    if "merged_into" not in schema:
        missing.append(pl.lit(None, schema["case_id"]).alias("merged_into"))
    return frame.with_columns(missing) if missing else frame
