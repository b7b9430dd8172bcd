"""The ``twitter`` adapter: customer-care threads on Twitter, in two published layouts.

``layout="twcs"``
    The "Customer Support on Twitter" CSV (Thought Vector, Kaggle): one row per tweet with
    ``tweet_id``, ``author_id``, ``inbound``, ``created_at``
    (``Tue Oct 31 22:10:47 +0000 2017``), ``text``, ``response_tweet_id`` and
    ``in_response_to_tweet_id``. A case is a thread: a connected component of
    ``in_response_to_tweet_id`` links among the tweets present, found with pointer jumping
    (a handful of Polars joins, not a loop per tweet).
``layout="ibm"``
    The IBM twitter-care JSON (Ganhotra et al., 2020): an array of conversations with
    ``dialogHeader``, ``dialogContent`` and the final ``agentURL`` tweet, whose time is
    derived from its snowflake id. The file is read with the :mod:`json` module and the
    conversations are walked in Python (one pass; such files hold thousands of records,
    not millions).

Mapping (both layouts): a customer tweet is a customer ``message``, a brand tweet an agent
``message`` with ``is_public = True`` and ``agent_id`` = the brand account; every event of
a case has ``team`` = the case's brand and ``customer_id`` = the case's customer;
``case_created`` is added at the case's first tweet, with ``actor = customer`` when a
customer wrote it and ``actor = agent`` (an agent-created case, DESIGN §2.2) when the brand
did.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import polars as pl

from csmetrics._capabilities import Capabilities, with_capabilities
from csmetrics.adapters._base import (
    ROW_COLUMN,
    FunctionAdapter,
    TableFormat,
    adapter_error,
    as_lazy_table,
    finish,
    read_json_file,
    rejects,
    require_columns,
    source_name,
    text_column,
    ts_text,
)
from csmetrics.exceptions import AdapterWarning
from csmetrics.log import EventLog

__all__ = [
    "CAPABILITIES",
    "TWCS_COLUMNS",
    "TWITTER_EPOCH_MS",
    "adapter",
    "read_twitter",
    "snowflake_time",
]

Layout = Literal["auto", "twcs", "ibm"]

TWCS_COLUMNS: Final[tuple[str, ...]] = (
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "in_response_to_tweet_id",
)
"""Columns the twcs layout needs (``text`` and ``response_tweet_id`` are optional)."""

TWITTER_EPOCH_MS: Final = 1288834974657
"""Milliseconds since the Unix epoch at which Twitter snowflake ids start."""

_TWCS_TIME: Final = "%a %b %d %H:%M:%S %z %Y"
_WARN_SHARE: Final = 0.05

CAPABILITIES: Final = Capabilities(
    source="Twitter threads",
    event_types={"case_created", "message"},
    message_actors={"customer", "agent"},
    fields={"is_public", "agent_id", "team"},
    notes={"*": "a thread holds only tweets"},
)
"""What the ``twitter`` adapter's source can produce."""

_MAX_JUMPS: Final = 64  # pointer jumping doubles the reach each round: 2**64 tweets deep
_CLIENT_KEY: Final = re.compile(r"^client\d*$")


def snowflake_time(tweet_id: int | str) -> dt.datetime:
    """The UTC time encoded in a Twitter snowflake id.

    Examples
    --------
    >>> snowflake_time("1216382480015450112")
    datetime.datetime(2020, 1, 12, 15, 32, 37, 186000, tzinfo=datetime.timezone.utc)
    """
    ms = (int(tweet_id) >> 22) + TWITTER_EPOCH_MS
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)


def read_twitter(
    source: object,
    *,
    tz: str | None = None,
    layout: Layout = "auto",
    channel: str = "twitter",
    keep_text: bool = False,
    format: TableFormat | None = None,
) -> EventLog:
    """Read Twitter customer-care threads (twcs CSV or IBM JSON) into an event log.

    Parameters
    ----------
    source
        A twcs file (CSV, Parquet …) or frame, or an IBM twitter-care JSON file.
    tz
        Not needed: both layouts state their zone (UTC). Accepted for the adapter contract.
    layout
        ``"twcs"``, ``"ibm"`` or ``"auto"``: a ``.json`` file or a file starting with ``[``
        is IBM, anything else twcs.
    channel
        The channel of every event.
    keep_text
        Keep the tweet text as a pass-through ``text`` column.
    format
        The file format of a twcs source when its suffix does not say.

    Returns
    -------
    EventLog
        Events as described in the module docstring. Pass-through columns: ``tweet_id``,
        ``author_id`` (twcs) or ``author`` (IBM), and in twcs ``in_response_to_tweet_id``
        and ``thread_incomplete`` (the thread's first tweet answers a tweet that is not in
        the source: its start is missing, so its first-response time is not the customer's
        wait). ``rejected`` holds twcs rows without a ``tweet_id`` (``null_key``), repeats of
        a ``tweet_id`` (``duplicate_event``) and tweets in a reply cycle (``reply_cycle``),
        plus the mapped events that break a rule.

    Raises
    ------
    AdapterError
        A required column or field is missing, the JSON is truncated or a field has the
        wrong type; the message names the file, the record and the field.

    Examples
    --------
    >>> import polars as pl
    >>> tweets = pl.DataFrame({"tweet_id": ["1", "2"], "author_id": ["115712", "sprintcare"],
    ...     "inbound": ["True", "False"],
    ...     "created_at": ["Tue Oct 31 22:10:47 +0000 2017", "Tue Oct 31 22:25:47 +0000 2017"],
    ...     "in_response_to_tweet_id": [None, "1"]})
    >>> log = read_twitter(tweets)
    >>> log.frame.collect().select("case_id", "event_type", "actor", "team").rows()
    [(1, 'case_created', 'customer', 'sprintcare'), (1, 'message', 'customer', 'sprintcare'), \
(1, 'message', 'agent', 'sprintcare')]

    The brand replied 15 minutes after the customer's tweet: its first response.
    """
    if layout not in ("auto", "twcs", "ibm"):
        raise adapter_error(source, f"layout must be 'auto', 'twcs' or 'ibm' (got {layout!r})")
    chosen = _detect_layout(source) if layout == "auto" else layout
    if chosen == "ibm":
        mapped = _ibm_events(source, channel=channel, keep_text=keep_text)
        _warn_brand_started(mapped, source)
        log = finish(mapped, None, source=source_name(source), tz=tz)
        return with_capabilities(log, CAPABILITIES)
    mapped, unmapped = _twcs_events(source, channel=channel, keep_text=keep_text, fmt=format)
    _warn_brand_started(mapped, source)
    log = finish(
        mapped,
        unmapped,
        source=source_name(source),
        tz=tz,
        id_dtype={"case_id": "infer", "customer_id": "infer", "event_id": "string"},
    )
    return with_capabilities(log, CAPABILITIES)


def _warn_brand_started(mapped: pl.LazyFrame, source: object) -> None:
    """Warn when more than 5 % of the threads start with a brand's tweet (agent-created)."""
    try:
        counts = (
            mapped.filter(pl.col("event_type") == "case_created")
            .select(pl.len().alias("n"), (pl.col("actor") == "agent").sum().alias("brand"))
            .collect()
        )
    except pl.exceptions.PolarsError:
        return  # an unreadable source fails, naming the file, when the log is read
    n, brand = int(counts["n"].item()), int(counts["brand"].item() or 0)
    if n and brand / n > _WARN_SHARE:
        warnings.warn(
            f"{source_name(source)}: {brand:,} of {n:,} threads ({brand / n:.1%}) start with a "
            "brand's tweet (the customer's opening tweet is not in the source, or the brand "
            "wrote first): they are agent-created cases, outside the first-response "
            "population under the default policy. Pass Policy(agent_created='include') or "
            "'second_public_reply' to count them",
            AdapterWarning,
            stacklevel=3,
        )


def _detect_layout(source: object) -> Literal["twcs", "ibm"]:
    if not isinstance(source, str | os.PathLike):
        return "twcs"
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "ibm"
    if suffix in (".csv", ".tsv", ".parquet", ".pq", ".ndjson", ".jsonl", ".arrow", ".ipc"):
        return "twcs"
    try:
        with open(path, "rb") as handle:
            head = handle.read(64).lstrip()
    except OSError as exc:
        raise adapter_error(source, f"cannot open it: {exc.strerror}") from exc
    return "ibm" if head.startswith(b"[") else "twcs"


# --------------------------------------------------------------------------- twcs


def _thread_roots(links: pl.DataFrame, source: object) -> pl.DataFrame:
    """Map each tweet to its thread's root by pointer jumping over reply links.

    ``links`` has unique ``tweet_id`` and ``parent`` (null, or an id that may be absent).
    Returns ``tweet_id``, ``root`` and ``in_cycle`` (no root reachable: a reply cycle).
    """
    ids = links.select("tweet_id")
    parents = links.join(
        ids.rename({"tweet_id": "parent"}).with_columns(pl.lit(value=True).alias("__present")),
        on="parent",
        how="left",
    ).select(
        "tweet_id",
        pl.when(pl.col("__present")).then(pl.col("parent")).alias("parent_in"),
    )
    pointer = parents.select("tweet_id", pl.coalesce("parent_in", "tweet_id").alias("ptr"))
    # after k jumps a pointer has moved 2**k links: bit_length + 1 jumps reach every root. A
    # reply cycle of 3 or more tweets (a tweet reusing its thread root's id) never settles:
    # its tweets end on a tweet that still has a parent and are flagged in_cycle below.
    for _ in range(min(_MAX_JUMPS, links.height.bit_length() + 1)):
        jumped = pointer.join(
            pointer.rename({"tweet_id": "ptr", "ptr": "next"}),
            on="ptr",
            how="left",
            maintain_order="left",
        ).select("tweet_id", pl.col("next").alias("ptr"))
        if jumped["ptr"].equals(pointer["ptr"]):
            break
        pointer = jumped
    rooted = pointer.join(
        parents.rename({"tweet_id": "ptr", "parent_in": "root_parent"}),
        on="ptr",
        how="left",
        maintain_order="left",
    )
    return rooted.select(
        "tweet_id",
        pl.col("ptr").alias("root"),
        pl.col("root_parent").is_not_null().alias("in_cycle"),
    )


def _twcs_events(
    source: object, *, channel: str, keep_text: bool, fmt: TableFormat | None
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    raw = as_lazy_table(source, format=fmt)
    names = raw.collect_schema().names()
    require_columns(names, TWCS_COLUMNS, source=source)
    if keep_text:
        require_columns(names, ["text"], source=source)
    has_text = "text" in names
    inbound_text = pl.col("inbound").cast(pl.String, strict=False).str.strip_chars()
    indexed = raw.with_row_index(ROW_COLUMN, offset=1).with_columns(
        text_column("tweet_id").alias("__id"),
        text_column("in_response_to_tweet_id").alias("__parent"),
        text_column("author_id").alias("__author"),
        inbound_text.str.to_lowercase()
        .replace_strict(
            {"true": True, "1": True, "false": False, "0": False},
            default=None,
            return_dtype=pl.Boolean,
        )
        .alias("__inbound"),
        pl.col("created_at")
        .cast(pl.String, strict=False)
        .str.strip_chars()
        .str.to_datetime(_TWCS_TIME, strict=False, time_unit="us", time_zone="UTC")
        .alias("__created"),
    )
    try:
        links = (
            indexed.filter(pl.col("__id").is_not_null())
            .select("__id", "__parent", ROW_COLUMN)
            .unique(subset="__id", keep="first", maintain_order=True)
            .select(pl.col("__id").alias("tweet_id"), pl.col("__parent").alias("parent"))
            .collect()
        )
    except pl.exceptions.PolarsError as exc:
        raise adapter_error(source, f"cannot read the tweets: {exc}") from exc
    roots = _thread_roots(links, source)

    first_of_id = pl.col("__id").is_first_distinct()
    # maintain_order: "first of its id" below must see the file's row order on every run
    tweets = indexed.join(
        roots.lazy().rename({"tweet_id": "__id"}), on="__id", how="left", maintain_order="left"
    ).with_columns(
        pl.when(pl.col("__id").is_null())
        .then(pl.lit("null_key"))
        .when(~first_of_id)
        .then(pl.lit("duplicate_event"))
        .when(pl.col("in_cycle"))
        .then(pl.lit("reply_cycle"))
        .alias("__reject")
    )
    raw_columns = [*names, ROW_COLUMN]
    unmapped = rejects(
        tweets.filter(pl.col("__reject").is_not_null()).select(*raw_columns, "__reject"),
        pl.col("__reject"),
        pl.when(pl.col("__reject") == "reply_cycle")
        .then(pl.lit("in_response_to_tweet_id"))
        .otherwise(pl.lit("tweet_id")),
    ).drop("__reject")
    good = tweets.filter(pl.col("__reject").is_null())

    ordered = ["__created", "__id"]
    brands = (
        good.filter(pl.col("__inbound").not_() & pl.col("__author").is_not_null())
        .group_by("root", "__author")
        .agg(pl.len().alias("n"), pl.col("__created").min().alias("first"))
        .group_by("root")
        .agg(
            pl.col("__author")
            .sort_by(["n", "first", "__author"], descending=[True, False, False], nulls_last=True)
            .first()
            .alias("brand")
        )
    )
    mention = (
        pl.col("text").cast(pl.String, strict=False).str.extract(r"@(\w+)", 1)
        if has_text
        else pl.lit(None, pl.String)
    )
    threads = (
        good.with_columns(mention.alias("__mention"))
        .sort(ordered, nulls_last=True)  # within-group order of the aggregations below
        .group_by("root")
        .agg(
            pl.col("__created").min().alias("start"),
            pl.col("__inbound").first().alias("first_inbound"),
            pl.col("__author").first().alias("first_author"),
            pl.col("__author").filter(pl.col("__inbound")).first().alias("customer"),
            pl.col("__mention").filter(pl.col("__inbound").not_()).first().alias("mentioned"),
            (pl.col("__parent").is_not_null() & (pl.col("__id") == pl.col("root")))
            .any()
            .alias("thread_incomplete"),
        )
        .join(brands, on="root", how="left")
        .with_columns(pl.coalesce("customer", "mentioned").alias("customer"))
    )

    actor = (
        pl.when(pl.col("__inbound"))
        .then(pl.lit("customer"))
        .when(pl.col("__inbound").not_())
        .then(pl.lit("agent"))
        .otherwise(inbound_text)
    )
    passthrough = [
        pl.col("__id").alias("tweet_id"),
        pl.col("__author").alias("author_id"),
        pl.col("__parent").alias("in_response_to_tweet_id"),
        pl.col("thread_incomplete"),
    ]
    if keep_text:
        passthrough.append(pl.col("text").cast(pl.String, strict=False))
    messages = good.join(threads, on="root", how="left").select(
        pl.col("__id").alias("event_id"),
        pl.col("root").alias("case_id"),
        pl.col("customer").alias("customer_id"),
        pl.lit(channel).alias("channel"),
        ts_text(pl.col("__created"), pl.col("created_at"), aware=True).alias("ts"),
        pl.lit("message").alias("event_type"),
        actor.alias("actor"),
        pl.lit(value=True).alias("is_public"),
        pl.when(pl.col("__inbound").not_()).then(pl.col("__author")).alias("agent_id"),
        pl.col("brand").alias("team"),
        *passthrough,
    )
    created = threads.select(
        (pl.col("root") + "/case_created").alias("event_id"),
        pl.col("root").alias("case_id"),
        pl.col("customer").alias("customer_id"),
        pl.lit(channel).alias("channel"),
        pl.col("start").dt.to_string("%Y-%m-%dT%H:%M:%S%.f%:z").alias("ts"),
        pl.lit("case_created").alias("event_type"),
        pl.when(pl.col("first_inbound").not_())
        .then(pl.lit("agent"))
        .otherwise(pl.lit("customer"))
        .alias("actor"),
        pl.lit(value=True).alias("is_public"),
        pl.when(pl.col("first_inbound").not_()).then(pl.col("first_author")).alias("agent_id"),
        pl.col("brand").alias("team"),
        pl.lit(None, pl.String).alias("tweet_id"),
        pl.col("first_author").alias("author_id"),
        pl.lit(None, pl.String).alias("in_response_to_tweet_id"),
        pl.col("thread_incomplete"),
    )
    return pl.concat([created, messages], how="diagonal_relaxed"), unmapped


# --------------------------------------------------------------------------- IBM


def _field(
    record: Mapping[str, Any],
    key: str,
    kinds: type | tuple[type, ...],
    *,
    source: object,
    where: str,
) -> Any:
    if key not in record:
        raise adapter_error(
            source,
            "is missing",
            record=where,
            field=key,
            fix="check the file is in the IBM twitter-care layout",
        )
    value = record[key]
    if not isinstance(value, kinds) or isinstance(value, bool):
        names = kinds.__name__ if isinstance(kinds, type) else "/".join(k.__name__ for k in kinds)
        raise adapter_error(
            source,
            f"must be {names} (got {type(value).__name__}: {value!r:.40})",
            record=where,
            field=key,
        )
    return value


def _snowflake_iso(tweet_id: object, *, source: object, where: str) -> str:
    text = str(tweet_id).strip()
    if not text.isdigit() or len(text) > 19:
        raise adapter_error(
            source,
            f"is not a Twitter snowflake id (got {text!r:.40})",
            record=where,
            field="tweet_ID",
            fix="the final tweet's time is derived from its id; it must be a decimal number",
        )
    return snowflake_time(text).isoformat()


def _ibm_events(source: object, *, channel: str, keep_text: bool) -> pl.LazyFrame:
    data = read_json_file(source)
    if not isinstance(data, list):
        raise adapter_error(
            source, f"expected a JSON array of conversations (got {type(data).__name__})"
        )
    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            "event_id",
            "case_id",
            "customer_id",
            "ts",
            "event_type",
            "actor",
            "agent_id",
            "team",
            "tweet_id",
            "author",
            "text",
        )
    }

    def add(**values: Any) -> None:
        for name, column in columns.items():
            column.append(values.get(name))

    for index, conversation in enumerate(data):
        where = f"conversation {index}"
        if not isinstance(conversation, Mapping):
            raise adapter_error(
                source, f"must be an object (got {type(conversation).__name__})", record=where
            )
        header = _field(conversation, "dialogHeader", Mapping, source=source, where=where)
        session = _field(header, "sessionID", str, source=source, where=where)
        where = f"conversation {index} (sessionID {session!r})"
        company = _field(header, "company", str, source=source, where=where)
        content = _field(conversation, "dialogContent", list, source=source, where=where)
        final = _field(conversation, "agentURL", Mapping, source=source, where=where)
        final_id = _field(final, "tweet_ID", (str, int), source=source, where=f"{where} agentURL")
        final_ts = _snowflake_iso(final_id, source=source, where=f"{where} agentURL")
        items: list[tuple[str, str, str, str | None, str | None]] = []
        customer: str | None = None
        for position, item in enumerate(content):
            at = f"{where} dialogContent[{position}]"
            if not isinstance(item, Mapping):
                raise adapter_error(
                    source, f"must be an object (got {type(item).__name__})", record=at
                )
            ts = _field(item, "datetime", str, source=source, where=at)
            authors = [k for k in item if k == "agent" or _CLIENT_KEY.match(str(k))]
            if len(authors) != 1:
                raise adapter_error(
                    source,
                    f"needs exactly one of 'agent' or 'client' (got keys {sorted(item)})",
                    record=at,
                    field="client",
                )
            role = authors[0]
            author = _field(item, role, str, source=source, where=at)
            tweet = item.get("tweet_ID")
            if tweet is not None and (not isinstance(tweet, str | int) or isinstance(tweet, bool)):
                raise adapter_error(
                    source,
                    f"must be a string (got {type(tweet).__name__})",
                    record=at,
                    field="tweet_ID",
                )
            message = item.get("message")
            if message is not None and not isinstance(message, str):
                raise adapter_error(
                    source,
                    f"must be a string (got {type(message).__name__})",
                    record=at,
                    field="message",
                )
            if role == "client" and customer is None:
                customer = author
            actor = "agent" if role == "agent" else "customer"
            items.append((ts, actor, author, None if tweet is None else str(tweet), message))
        if customer is None:  # only other customers ('client1' …) wrote
            customer = next((a for _, actor, a, _, _ in items if actor == "customer"), None)
        first_ts, first_actor, first_author = (
            (items[0][0], items[0][1], items[0][2]) if items else (final_ts, "agent", company)
        )
        add(
            event_id=f"{session}/case_created",
            case_id=session,
            customer_id=customer,
            ts=first_ts,
            event_type="case_created",
            actor=first_actor,
            agent_id=first_author if first_actor == "agent" else None,
            team=company,
            author=first_author,
        )
        for position, (ts, actor, author, tweet, message) in enumerate(items):
            add(
                event_id=f"{session}/{tweet if tweet is not None else position}",
                case_id=session,
                customer_id=customer,
                ts=ts,
                event_type="message",
                actor=actor,
                agent_id=author if actor == "agent" else None,
                team=company,
                tweet_id=tweet,
                author=author,
                text=message,
            )
        add(
            event_id=f"{session}/{final_id}",
            case_id=session,
            customer_id=customer,
            ts=final_ts,
            event_type="message",
            actor="agent",
            agent_id=company,
            team=company,
            tweet_id=str(final_id),
            author=company,
            text=final.get("url_utterance")
            if isinstance(final.get("url_utterance"), str)
            else None,
        )
    if not keep_text:
        del columns["text"]
    frame = pl.DataFrame(
        {name: pl.Series(name, values, dtype=pl.String) for name, values in columns.items()}
    ).with_columns(pl.lit(channel).alias("channel"), pl.lit(value=True).alias("is_public"))
    return frame.lazy()


adapter: Final = FunctionAdapter(
    "twitter",
    "Twitter customer-care threads: the twcs CSV layout or the IBM twitter-care JSON.",
    read_twitter,
    CAPABILITIES,
)
"""The ``twitter`` adapter object (see :func:`read_twitter`)."""
