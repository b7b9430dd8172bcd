"""The adapter registry: built-in source formats and adapter plugins, by name.

Built-in adapters are imported only when first asked for; plugins come from the
``csmetrics.adapters`` entry-point group (see :mod:`csmetrics.plugins`).

- ``mapping``: any table, through a column and value mapping;
- ``twitter``: the Customer Support on Twitter corpus and the IBM twitter-care JSON;
- ``servicenow``: ServiceNow incident event logs;
- ``xes``: process-mining event logs (XES, or CSV in the XES vocabulary);
- ``zendesk``: Zendesk Support incremental ticket events and ticket audits (JSON/NDJSON);
- ``intercom``: Intercom conversations with their conversation parts (JSON/NDJSON).

Examples
--------
>>> import csmetrics.adapters as adapters
>>> "zendesk" in adapters.names()
True
>>> adapters.get_adapter("zendesk").name
'zendesk'
"""

from __future__ import annotations

from typing import Final

from csmetrics.plugins import ADAPTER_GROUP, Adapter, EntryPointRegistry, verify_adapter

__all__ = ["BUILTINS", "REGISTRY", "get_adapter", "names", "register"]

BUILTINS: Final[dict[str, str]] = {
    "mapping": "csmetrics.adapters.mapping:adapter",
    "twitter": "csmetrics.adapters.twitter:adapter",
    "servicenow": "csmetrics.adapters.servicenow:adapter",
    "xes": "csmetrics.adapters.xes:adapter",
    "zendesk": "csmetrics.adapters.zendesk:adapter",
    "intercom": "csmetrics.adapters.intercom:adapter",
}
"""Built-in adapter names and where each adapter object lives (imported on first use)."""

REGISTRY: Final[EntryPointRegistry[Adapter]] = EntryPointRegistry(
    ADAPTER_GROUP, BUILTINS, kind="adapter", check=verify_adapter
)
"""Built-in adapters, ``csmetrics.adapters`` entry points and run-time registrations."""


def get_adapter(name: str) -> Adapter:
    """The adapter called ``name``, imported and checked on first use.

    Raises
    ------
    UnknownMetricError
        No adapter has that name (the message suggests close names).
    PluginError
        The adapter plugin failed to load or does not conform.
    """
    return REGISTRY.get(name)


def names() -> tuple[str, ...]:
    """Every adapter name, sorted; imports no adapter code.

    Examples
    --------
    >>> {"mapping", "zendesk", "intercom"} <= set(names())
    True
    """
    return REGISTRY.names()


def register(adapter: Adapter, *, name: str | None = None, replace: bool = False) -> Adapter:
    """Register an adapter for this session (a notebook, a test); returns it.

    ``name`` defaults to ``adapter.name`` or the function's name.

    Raises
    ------
    PluginError
        ``adapter`` is not callable as ``adapter(source, *, tz=None, **options)``, or the name
        is taken and ``replace`` is false.

    Examples
    --------
    >>> import csmetrics as csm
    >>> def pigeon_post(source, *, tz=None, **options):
    ...     return csm.testing.log_from_rows([("09:00", "case_created", "customer")])
    >>> _ = register(pigeon_post)
    >>> get_adapter("pigeon_post")("loft.txt").frame.collect().height
    1
    >>> REGISTRY.unregister("pigeon_post")
    """
    return REGISTRY.register(adapter, name=name, replace=replace)
