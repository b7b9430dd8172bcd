"""Topics from message text: a rules file (topic → keywords / regular expressions).

No social adapter fills ``topic``; many keep the message text. :func:`tag_topics` applies a
:class:`TopicRules` file to a text column and writes ``topic`` on the events whose text
matches, so that the case table's ``topic`` (the first non-null in event order) and
:func:`csmetrics.trends` work on them::

    # topics.toml: the first topic that matches wins (file order)
    [billing]
    keywords = ["invoice", "refund", "charged twice"]

    [outage]
    keywords = ["down", "not working"]
    patterns = ['error \\d{3}']          # Rust regular expressions, as Polars reads them

Keywords match whole words, ignoring case; patterns are regular expressions (case-sensitive
unless they start with ``(?i)``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import polars as pl

from csmetrics._analysis import OnInvalid
from csmetrics._toml import read_toml
from csmetrics.exceptions import PolicyError
from csmetrics.log import EventLog, as_event_log
from csmetrics.schema import with_optional_columns

__all__ = ["TopicRule", "TopicRules", "tag_topics", "topic_expr"]

_META: Final = frozenset("\\.+*?()|[]{}^$#&-~")


def _escape(keyword: str) -> str:
    """A keyword as a literal in a (Rust) regular expression."""
    return "".join(f"\\{c}" if c in _META else c for c in keyword)


def _check_pattern(topic: str, pattern: str) -> None:
    try:
        pl.Series([""], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PolicyError(
            f"topic rules: the pattern {pattern!r} of topic {topic!r} is not a valid regular "
            f"expression ({first})"
        ) from None


@attrs.frozen
class TopicRule:
    """One topic: its keywords (whole words, any case) and regular expressions."""

    topic: str
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    def regex(self) -> str:
        """The rule as one regular expression."""
        parts = []
        if self.keywords:
            words = "|".join(_escape(k) for k in self.keywords)
            parts.append(f"(?i:\\b(?:{words})\\b)")  # the flag only for the keywords
        parts.extend(f"(?:{p})" for p in self.patterns)
        return "|".join(parts)


def _strings(topic: str, key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise PolicyError(f"topic rules: {topic}.{key} must be a list of strings (got {value!r})")
    items = tuple(value)
    bad = [v for v in items if not isinstance(v, str) or not v.strip()]
    if bad:
        raise PolicyError(f"topic rules: {topic}.{key} holds empty or non-text items: {bad!r}")
    return tuple(v.strip() for v in items)


@attrs.frozen
class TopicRules:
    """Ordered topic rules: the first topic whose keywords or patterns match wins.

    Examples
    --------
    >>> rules = TopicRules.from_dict({"billing": {"keywords": ["refund", "invoice"]},
    ...                               "outage": {"patterns": [r"(?i)error \\d{3}"]}})
    >>> [r.topic for r in rules.rules]
    ['billing', 'outage']
    """

    rules: tuple[TopicRule, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TopicRules:
        """Rules from ``{topic: {"keywords": [...], "patterns": [...]}}`` (in order)."""
        if not isinstance(data, Mapping) or not data:
            raise PolicyError("topic rules must be a non-empty table of topics")
        rules = []
        for topic, body in data.items():
            if not isinstance(body, Mapping):
                raise PolicyError(
                    f"topic rules: [{topic}] must be a table with keywords and/or patterns"
                )
            unknown = sorted(set(body) - {"keywords", "patterns"})
            if unknown:
                raise PolicyError(
                    f"topic rules: [{topic}] has unknown key(s) {unknown}; use keywords, patterns"
                )
            keywords = _strings(topic, "keywords", body.get("keywords", []))
            patterns = _strings(topic, "patterns", body.get("patterns", []))
            if not keywords and not patterns:
                raise PolicyError(f"topic rules: [{topic}] has no keywords and no patterns")
            for pattern in patterns:
                _check_pattern(topic, pattern)
            rules.append(TopicRule(str(topic), keywords, patterns))
        return cls(tuple(rules))

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> TopicRules:
        """Read a rules file; errors name the file."""
        try:
            return cls.from_dict(read_toml(path, PolicyError, "topic rules"))
        except PolicyError as exc:
            if str(exc).startswith(str(path)):
                raise
            raise PolicyError(f"{path}: {exc}") from None


def _as_rules(rules: TopicRules | Mapping[str, Any] | str | os.PathLike[str]) -> TopicRules:
    if isinstance(rules, TopicRules):
        return rules
    if isinstance(rules, Mapping):
        return TopicRules.from_dict(rules)
    return TopicRules.from_toml(rules)


def topic_expr(
    rules: TopicRules | Mapping[str, Any] | str | os.PathLike[str], text: str = "text"
) -> pl.Expr:
    """The first matching topic of each row's ``text`` (null when none matches).

    Examples
    --------
    >>> import polars as pl
    >>> rules = {"billing": {"keywords": ["refund"]}, "outage": {"keywords": ["down"]}}
    >>> df = pl.DataFrame({"text": ["Refund please!", "site DOWN", "download failed", None]})
    >>> df.select(topic_expr(rules))["topic"].to_list()
    ['billing', 'outage', None, None]

    "download" does not match "down": keywords match whole words.
    """
    column = pl.col(text).cast(pl.String)
    expr: pl.Expr = pl.lit(None, pl.String)
    for rule in reversed(_as_rules(rules).rules):
        expr = pl.when(column.str.contains(rule.regex())).then(pl.lit(rule.topic)).otherwise(expr)
    return expr.alias("topic")


def tag_topics(
    log: EventLog | object,
    rules: TopicRules | Mapping[str, Any] | str | os.PathLike[str],
    *,
    text: str = "text",
    overwrite: bool = False,
    on_invalid: OnInvalid = "raise",
) -> EventLog:
    """The log with ``topic`` set on the customer messages whose ``text`` matches a rule.

    Parameters
    ----------
    log
        An :class:`~csmetrics.EventLog` or anything :meth:`EventLog.from_frame` reads.
    rules
        :class:`TopicRules`, their dict, or a TOML file.
    text
        The column holding the message text (a pass-through column an adapter kept).
    overwrite
        Replace a ``topic`` already there (default: only fill missing ones).
    on_invalid
        ``"raise"`` or ``"quarantine"`` invalid events first.

    Raises
    ------
    PolicyError
        The log has no ``text`` column, or a rule is malformed.

    Examples
    --------
    >>> import csmetrics as csm
    >>> log = csm.testing.log_from_rows([
    ...     ("09:00", "message", "customer", {"text": "I want a refund"}),
    ...     ("09:05", "message", "agent", {"text": "Sorry about the refund delay"})])
    >>> tagged = tag_topics(log, {"billing": {"keywords": ["refund"]}})
    >>> tagged.frame.collect()["topic"].to_list()
    ['billing', None]
    >>> csm.case_table(tagged).collect()["topic"].item()
    'billing'

    Only the customer's words set the topic, not the agent's reply.
    """
    checked = as_event_log(log).checked(on_invalid)
    frame = with_optional_columns(checked.frame)
    names = frame.collect_schema().names()
    if text not in names:
        raise PolicyError(
            f"{checked.source}: tag_topics reads message text from column {text!r}, which the "
            f"log does not have (columns: {names}); keep the text in the adapter or mapping, "
            "or pass text='<column>'"
        )
    found = topic_expr(_as_rules(rules), text)
    is_customer_message = (pl.col("event_type") == "message") & (pl.col("actor") == "customer")
    keep = pl.col("topic") if overwrite else pl.col("topic").fill_null(found)
    topic = pl.when(is_customer_message).then(
        pl.coalesce(found, pl.col("topic")) if overwrite else keep
    )
    tagged = frame.with_columns(topic.otherwise(pl.col("topic")).alias("topic"))
    # the rejected rows (quarantine) stay with the log: nothing is lost
    return EventLog(tagged, checked.rejected, f"tag_topics({checked.source})")
