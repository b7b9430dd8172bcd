"""The plugin contract and the registries that discover plugins through entry points.

A plugin is any installed distribution that declares entry points in the groups
``csmetrics.adapters`` or ``csmetrics.metrics``; the entry point's name is the name users
type (``csm.scan_events(path, adapter="acme")``, ``csm.compute(log, ["acme_metric"])``) and
its value points at the object (``"csmetrics_acme:adapter"``). No base class is needed: an
adapter is any callable of the :class:`Adapter` shape and a metric any object of the
:class:`Metric` shape.

Discovery reads entry-point metadata once and imports nothing; each plugin is imported the
first time it is asked for by name, on its own. A plugin that fails to import, declares another
:data:`PLUGIN_API` or does not conform is recorded with its error, and raises
:class:`~csmetrics.exceptions.PluginError` only when someone asks for it by name; two
distributions claiming one name is an error naming both. Everything else keeps working.

Examples
--------
>>> import csmetrics.plugins as plugins
>>> def shout(source, *, tz=None):
...     return source.upper()
>>> registry = plugins.EntryPointRegistry(
...     "csmetrics.example", {"shout": lambda: shout}, kind="adapter",
...     check=plugins.verify_adapter, entry_points=lambda: ())
>>> registry.names()
('shout',)
>>> registry.get("shout")("hi")
'HI'
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import (
    TYPE_CHECKING,
    Any,
    Final,
    Generic,
    Literal,
    NamedTuple,
    Protocol,
    TypeVar,
    get_args,
    runtime_checkable,
)

import attrs

from csmetrics._version import __version__
from csmetrics.exceptions import PluginError, UnknownMetricError

if TYPE_CHECKING:
    import polars as pl

    from csmetrics.log import EventLog
    from csmetrics.policy import Policy

__all__ = [
    "ADAPTER_GROUP",
    "KINDS",
    "LEVELS",
    "METRIC_GROUP",
    "PLUGIN_API",
    "UNITS",
    "Adapter",
    "EntryPointRegistry",
    "Level",
    "Metric",
    "MetricKind",
    "PluginInfo",
    "PluginKind",
    "Unit",
    "format_report",
    "metric_plugins",
    "report",
    "verify_adapter",
    "verify_metric",
]

PLUGIN_API: Final = 1
"""Version of the plugin contract. A plugin may declare ``plugin_api = 1`` (on the object or in
its module); a plugin declaring another version is refused with a message saying which."""

ADAPTER_GROUP: Final = "csmetrics.adapters"
METRIC_GROUP: Final = "csmetrics.metrics"

Unit = Literal["seconds", "ratio", "count", "currency", "score"]
Level = Literal["case", "pair", "issue", "period"]
MetricKind = Literal["duration", "rate", "amount", "count", "score", "backlog"]
PluginKind = Literal["adapter", "metric"]
Status = Literal["loaded", "failed", "not loaded yet"]
UNITS: Final[tuple[str, ...]] = get_args(Unit)
LEVELS: Final[tuple[str, ...]] = get_args(Level)
KINDS: Final[tuple[str, ...]] = get_args(MetricKind)

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_BUILTIN_DIST: Final = "csmetrics"
_RUNTIME_DIST: Final = "<runtime>"

T = TypeVar("T")


@runtime_checkable
class Adapter(Protocol):
    """What an adapter is: a callable turning a source into an event log.

    ``source`` is what the user passed to :func:`csmetrics.scan_events` (a path, a glob, a list
    of paths); ``tz`` the zone of naive time stamps; ``options`` the adapter's own keyword
    arguments (``scan_events(..., options={...})``). It returns an
    :class:`~csmetrics.EventLog`, usually built with :meth:`~csmetrics.EventLog.from_frame`
    (which validates the rows); source records it could not map go to ``.rejected`` with a
    ``reason``. Unreadable input raises a :class:`~csmetrics.exceptions.CsMetricsError` naming
    the file, record and field. An adapter may also have ``name`` and ``description``, and
    ``capabilities`` (a :class:`~csmetrics._capabilities.Capabilities`: what its source can
    produce, so metrics it cannot measure are reported as not measurable, not as 0).
    """

    def __call__(self, source: Any, /, *, tz: str | None = None, **options: Any) -> EventLog: ...


@runtime_checkable
class Metric(Protocol):
    """What a metric is (DESIGN §4.1): a small frozen object computed from the case table.

    Attributes
    ----------
    name
        Stable snake_case name, equal to the entry point's name.
    unit
        ``seconds``, ``ratio``, ``count``, ``currency`` or ``score``.
    level
        What one observation is: a ``case``, a next-reply ``pair``, an ``issue`` or a ``period``.
    definition
        One paragraph saying what is measured, over which population.
    docs
        Anchor or URL of the metric's documentation.
    kind
        How values aggregate: ``duration`` (median, quantiles), ``rate`` (share of True),
        ``amount`` (total and mean), ``count`` (total), ``score`` (share of scores >= 4 and
        mean) or ``backlog`` (open cases at each period end).
    columns
        The case-table columns the expressions read.

    Methods
    -------
    population(policy)
        Boolean expression over case-table columns: which cases count.
    value(policy)
        Per-case value: a Duration or number (durations, amounts, counts, scores) or a Boolean
        (rates); null means not observed yet (censored).
    """

    @property
    def name(self) -> str: ...
    @property
    def unit(self) -> Unit: ...
    @property
    def level(self) -> Level: ...
    @property
    def definition(self) -> str: ...
    @property
    def docs(self) -> str: ...
    @property
    def kind(self) -> MetricKind: ...
    @property
    def columns(self) -> tuple[str, ...]: ...
    def population(self, policy: Policy) -> pl.Expr: ...
    def value(self, policy: Policy) -> pl.Expr: ...


_METRIC_ATTRIBUTES: Final = ("name", "unit", "level", "definition", "docs", "kind", "columns")
_METRIC_METHODS: Final = ("population", "value")


# -- conformance on load ----------------------------------------------------------------------


def _describe(name: str, kind: str, where: str | None) -> str:
    return f"{kind} plugin {name!r}" + (f" ({where})" if where else "")


def verify_adapter(obj: object, name: str, *, where: str | None = None) -> Adapter:
    """``obj`` when it has the :class:`Adapter` shape, else a :class:`PluginError` saying why.

    The adapter must be callable with one positional ``source`` and a keyword ``tz``.

    Examples
    --------
    >>> def acme(source, *, tz=None, **options): ...
    >>> verify_adapter(acme, "acme") is acme
    True
    >>> verify_adapter(42, "acme")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    csmetrics.exceptions.PluginError: adapter plugin 'acme' does not conform ...: it is a int, ...
    """
    what = _describe(name, "adapter", where)
    shape = (
        "an adapter is a callable `adapter(source, *, tz=None, **options)` returning an "
        "EventLog or a frame"
    )
    if not callable(obj):
        raise PluginError(
            f"{what} does not conform to csmetrics.plugins.Adapter: it is a "
            f"{type(obj).__name__}, not callable; {shape}"
        )
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # some builtins cannot be inspected: trust them
        return obj
    try:
        signature.bind_partial("source", tz=None)
    except TypeError as exc:
        raise PluginError(
            f"{what} does not conform to csmetrics.plugins.Adapter: its signature "
            f"{signature} cannot take `(source, tz=...)` ({exc}); {shape}"
        ) from None
    return obj


def verify_metric(obj: object, name: str, *, where: str | None = None) -> Metric:
    """``obj`` when it has the :class:`Metric` shape, else a :class:`PluginError` naming each gap.

    Checks every member is present (pluggy's ``_verify_hook``), ``name`` equals the registered
    name and is snake_case, ``unit``/``level``/``kind`` are in their vocabularies, ``definition``
    is not empty and ``columns`` is a tuple of strings. The expressions are checked on data by
    :func:`csmetrics.testing.check_metric`.

    Examples
    --------
    >>> class Half:
    ...     name = "half"; unit = "ratio"; level = "case"; docs = "#half"; kind = "rate"
    ...     definition = "Half of the cases."; columns = ("case_id",)
    ...     def population(self, policy): ...
    ...     def value(self, policy): ...
    >>> verify_metric(Half(), "half").name
    'half'
    >>> verify_metric(object(), "half")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    csmetrics.exceptions.PluginError: metric plugin 'half' ...: missing attribute(s) 'name', ...
    """
    problems: list[str] = []
    missing = [a for a in _METRIC_ATTRIBUTES if not hasattr(obj, a)]
    if missing:
        problems.append(f"missing attribute(s) {', '.join(map(repr, missing))}")
    not_methods = [m for m in _METRIC_METHODS if not callable(getattr(obj, m, None))]
    if not_methods:
        problems.append(f"missing method(s) {', '.join(map(repr, not_methods))}")
    if not missing:
        metric_name = getattr(obj, "name", None)
        if not isinstance(metric_name, str) or not _NAME.match(metric_name):
            problems.append(f"'name' must be a snake_case string (got {metric_name!r})")
        elif metric_name != name:
            problems.append(
                f"'name' is {metric_name!r} but it is registered as {name!r}; they must be "
                "equal (rename the entry point or the metric)"
            )
        for attribute, allowed in (("unit", UNITS), ("level", LEVELS), ("kind", KINDS)):
            value = getattr(obj, attribute)
            if value not in allowed:
                problems.append(f"{attribute!r} must be in {allowed} (got {value!r})")
        definition = getattr(obj, "definition", None)
        if not isinstance(definition, str) or not definition.strip():
            problems.append(f"'definition' must be a non-empty string (got {definition!r})")
        if not isinstance(getattr(obj, "docs", None), str):
            problems.append(f"'docs' must be a string (got {getattr(obj, 'docs', None)!r})")
        columns = getattr(obj, "columns", None)
        if not isinstance(columns, tuple) or not all(isinstance(c, str) for c in columns):
            problems.append(f"'columns' must be a tuple of column names (got {columns!r})")
    if problems:
        raise PluginError(
            f"{_describe(name, 'metric', where)} does not conform to csmetrics.plugins.Metric: "
            + "; ".join(problems)
        )
    return obj  # type: ignore[return-value]


# -- the registry -------------------------------------------------------------------------------


class PluginInfo(NamedTuple):
    """One row of :meth:`EntryPointRegistry.report`: what a name resolves to and its state.

    A named tuple, so ``polars.DataFrame(report())`` is a table of the rows.

    Attributes
    ----------
    name
        The registered name.
    kind
        ``adapter`` or ``metric``.
    distribution, version
        The distribution that provides it (``csmetrics`` for built-ins, ``<runtime>`` for
        objects registered in the session).
    target
        Where the object comes from (``module:attribute``).
    status
        ``loaded``, ``failed`` or ``not loaded yet``.
    error
        Why it failed, else ``None``.
    """

    name: str
    kind: str
    distribution: str
    version: str | None
    target: str
    status: Status
    error: str | None = None


@attrs.define
class _Entry:
    name: str
    origin: Literal["builtin", "entry_point", "runtime"]
    distribution: str
    version: str | None
    target: str
    loader: Callable[[], object] | None = None
    module: str | None = None
    obj: object = None
    loaded: bool = False
    error: BaseException | None = None
    message: str | None = None  # the PluginError message users see

    def fail(self, error: BaseException, message: str) -> None:
        self.error = error
        self.message = message

    def where(self) -> str:
        version = f" {self.version}" if self.version else ""
        if self.origin == "builtin":
            return f"built in, {self.target}"
        if self.origin == "runtime":
            return f"registered at run time, {self.target}"
        return f"entry point {self.target!r} from distribution {self.distribution}{version}"


def _dist_of(entry_point: Any) -> tuple[str, str | None]:
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return "<unknown distribution>", None
    name = getattr(dist, "name", None)
    if name is None:
        try:
            name = dist.metadata["Name"]
        except Exception:  # broken metadata must not break discovery
            name = None
    version = getattr(dist, "version", None)
    return str(name or "<unknown distribution>"), (str(version) if version else None)


def _builtin_version() -> str | None:
    return __version__


def _import_target(target: str) -> object:
    module_name, _, attribute = target.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in filter(None, attribute.split(".")):
        obj = getattr(obj, part)
    return obj


def _declared_api(obj: object, module: str | None) -> object:
    declared = getattr(obj, "plugin_api", None)
    if declared is None and module:
        declared = getattr(sys.modules.get(module), "plugin_api", None)
    return declared


_REGISTRIES: list[EntryPointRegistry[Any]] = []
_BUILTIN_LISTS: dict[str, tuple[str, Callable[[], Iterable[str]]]] = {}


class EntryPointRegistry(Generic[T]):
    """Named objects of one kind: built-ins, entry-point plugins and run-time registrations.

    Parameters
    ----------
    group
        The entry-point group (``csmetrics.adapters`` or ``csmetrics.metrics``).
    builtins
        Built-in names and where to find each object: ``"module:attribute"``, imported on first
        use, or a zero-argument callable returning it.
    kind
        ``adapter`` or ``metric``: used in messages and by :class:`UnknownMetricError`.
    check
        ``check(obj, name, where=...)`` returns ``obj`` when it conforms, else raises a
        :class:`PluginError` (:func:`verify_adapter`, :func:`verify_metric`); ``where`` says
        where the object came from, for the message. Its error is recorded.
    entry_points
        Returns the group's entry points; by default
        ``importlib.metadata.entry_points(group=group)``. Tests pass fakes: any object with
        ``name``, ``value``, ``module``, ``dist`` (``name``, ``version``) and ``load()``.

    Examples
    --------
    >>> registry = EntryPointRegistry("csmetrics.example", {}, kind="adapter",
    ...     check=verify_adapter, entry_points=lambda: ())
    >>> def shout(source, *, tz=None):
    ...     return source.upper()
    >>> _ = registry.register(shout)
    >>> registry.get("shout")("hi")
    'HI'
    >>> registry.get("shoot")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    csmetrics.exceptions.UnknownMetricError: unknown adapter 'shoot'; did you mean 'shout'? ...
    """

    def __init__(
        self,
        group: str,
        builtins: Mapping[str, str | Callable[[], T]],
        *,
        kind: PluginKind,
        check: Callable[..., T],
        entry_points: Callable[[], Iterable[Any]] | None = None,
        reserved: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        self.group = group
        self.kind = kind
        self._builtins = dict(builtins)
        _REGISTRIES.append(self)
        self._check = check
        self._provider = entry_points or (lambda: importlib.metadata.entry_points(group=self.group))
        self._reserved = reserved or (lambda: ())
        self._entries: dict[str, _Entry] | None = None
        self._shadowed: list[_Entry] = []  # plugins refused because a built-in has the name
        self._runtime: dict[str, _Entry] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"EntryPointRegistry({self.group!r}, kind={self.kind!r})"

    # discovery -----------------------------------------------------------------------------

    def _discover(self) -> dict[str, _Entry]:
        with self._lock:
            if self._entries is not None:
                return self._entries
            entries: dict[str, _Entry] = {}
            version = _builtin_version()
            for name, where in self._builtins.items():
                target = (
                    where if isinstance(where, str) else getattr(where, "__qualname__", repr(where))
                )
                entries[name] = _Entry(
                    name,
                    "builtin",
                    _BUILTIN_DIST,
                    version,
                    target,
                    loader=functools.partial(_import_target, where)
                    if isinstance(where, str)
                    else where,
                    module=where.partition(":")[0] if isinstance(where, str) else None,
                )
            self._shadowed = []
            try:
                found = list(self._provider())
            except Exception as exc:  # broken metadata must not break built-ins
                found = []
                failed = _Entry("<discovery>", "entry_point", "<unknown>", None, self.group)
                failed.fail(exc, f"cannot list the {self.group!r} entry points: {exc}")
                self._shadowed.append(failed)
            by_name: dict[str, list[_Entry]] = {}
            for ep in found:
                dist, dist_version = _dist_of(ep)
                entry = _Entry(
                    str(ep.name),
                    "entry_point",
                    dist,
                    dist_version,
                    str(ep.value),
                    loader=ep.load,
                    module=getattr(ep, "module", None),
                )
                same = by_name.setdefault(entry.name, [])
                # the same distribution seen twice on sys.path is one plugin, not a duplicate
                if not any(
                    (e.distribution, e.target) == (entry.distribution, entry.target) for e in same
                ):
                    same.append(entry)
            try:
                reserved = set(self._reserved()) | set(entries)
            except Exception:  # the host's own names must not break discovery
                reserved = set(entries)
            for name, candidates in sorted(by_name.items()):
                first = candidates[0]
                if name in reserved:
                    for entry in candidates:
                        message = (
                            f"{self.kind} plugin {name!r} ({entry.where()}) has the name of a "
                            f"built-in {self.kind} of csmetrics and is ignored; rename its entry "
                            f"point in the {self.group!r} group"
                        )
                        entry.fail(PluginError(message), message)
                    self._shadowed.extend(candidates)
                    continue
                if not _NAME.match(name):
                    message = (
                        f"{self.kind} plugin {name!r} ({first.where()}): entry-point names must "
                        "be snake_case (lower-case letters, digits and _)"
                    )
                    first.fail(PluginError(message), message)
                elif len(candidates) > 1:
                    claims = " and ".join(
                        f"{e.distribution} {e.version or ''} ({e.target})".replace("  ", " ")
                        for e in candidates
                    )
                    message = (
                        f"two distributions provide the {self.kind} {name!r} in the "
                        f"{self.group!r} group: {claims}. Uninstall one of them, or ask its "
                        "author to rename the entry point"
                    )
                    first.fail(PluginError(message), message)
                    first.distribution = ", ".join(e.distribution for e in candidates)
                    first.version = ", ".join(e.version or "?" for e in candidates)
                entries[name] = first
            self._entries = entries
            return entries

    def refresh(self) -> None:
        """Forget what was discovered (after installing a plugin in a running session)."""
        with self._lock:
            self._entries = None

    def _all(self) -> dict[str, _Entry]:
        entries = dict(self._discover())
        entries.update(self._runtime)
        return entries

    # lookup --------------------------------------------------------------------------------

    def names(self) -> tuple[str, ...]:
        """Every known name, sorted; imports no plugin code (failed plugins are listed too)."""
        with self._lock:
            return tuple(sorted(self._all()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def _load(self, entry: _Entry) -> None:
        if entry.loaded or entry.error is not None:
            return
        what = _describe(entry.name, self.kind, entry.where())
        assert entry.loader is not None
        try:
            obj = entry.loader()
        except (Exception, SystemExit) as exc:
            message = f"{what} failed to import: {type(exc).__name__}: {exc}"
            if entry.origin == "entry_point":
                message += (
                    f". Fix or uninstall it (pip uninstall {entry.distribution}); other "
                    f"{self.kind}s are not affected"
                )
            entry.fail(exc, message)
            return
        declared = _declared_api(obj, entry.module)
        if declared is not None and declared != PLUGIN_API:
            message = (
                f"{what} was written for csmetrics plugin API {declared!r}, but this csmetrics "
                f"provides plugin API {PLUGIN_API}; install a version of {entry.distribution} "
                f"made for plugin API {PLUGIN_API}, or a csmetrics that provides API {declared!r}"
            )
            entry.fail(PluginError(message), message)
            return
        try:
            entry.obj = self._check(obj, entry.name, where=entry.where())
        except (Exception, SystemExit) as exc:
            message = (
                str(exc)
                if isinstance(exc, PluginError)
                else (f"{what} failed its conformance check: {type(exc).__name__}: {exc}")
            )
            entry.fail(exc, message)
            return
        entry.loaded = True

    def get(self, name: str) -> T:
        """The object registered under ``name``, imported and checked on first use.

        Raises
        ------
        UnknownMetricError
            No such name (the message suggests close names).
        PluginError
            The plugin failed to import, declares another plugin API, does not conform, or two
            distributions claim the name; the original error is chained.
        """
        with self._lock:
            entry = self._all().get(name)
            if entry is None:
                raise UnknownMetricError(name, self.names(), kind=self.kind)
            self._load(entry)
            if entry.error is not None:
                error = self._failure(entry)
                if isinstance(entry.error, PluginError) and str(entry.error) == str(error):
                    raise error from None  # our own finding: nothing underneath to show
                raise error from entry.error
            return entry.obj  # type: ignore[return-value]

    def _failure(self, entry: _Entry) -> PluginError:
        return PluginError(entry.message or str(entry.error), name=entry.name)

    def register(self, obj: T, *, name: str | None = None, replace: bool = False) -> T:
        """Register ``obj`` under ``name`` for this session (notebooks, tests).

        ``name`` defaults to ``obj.name`` (metrics) or the function's ``__name__`` (adapters).
        Returns ``obj``, so it can decorate a function.

        Raises
        ------
        PluginError
            ``obj`` does not conform, the name is not snake_case, or the name is taken and
            ``replace`` is false.
        """
        chosen = name if name is not None else getattr(obj, "name", None)
        if chosen is None:
            chosen = getattr(obj, "__name__", None)
        if not isinstance(chosen, str) or not _NAME.match(chosen):
            raise PluginError(
                f"cannot register {self.kind} {obj!r}: its name {chosen!r} is not snake_case; "
                "pass name='my_name'"
            )
        checked = self._check(obj, chosen, where="registered at run time")
        with self._lock:
            if chosen in self._all() and not replace:
                raise PluginError(
                    f"a {self.kind} named {chosen!r} is already registered "
                    f"({self._all()[chosen].where()}); pass replace=True to replace it"
                )
            module = getattr(obj, "__module__", None) or type(obj).__module__
            qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
            self._runtime[chosen] = _Entry(
                chosen,
                "runtime",
                _RUNTIME_DIST,
                None,
                f"{module}:{qualname}",
                obj=checked,
                loaded=True,
            )
        return checked

    def unregister(self, name: str) -> None:
        """Forget a name registered at run time (built-ins and installed plugins stay)."""
        with self._lock:
            if self._runtime.pop(name, None) is None:
                raise UnknownMetricError(name, self._runtime, kind=f"run-time {self.kind}")

    # reporting -----------------------------------------------------------------------------

    def report(self, *, load: bool = True, include_builtins: bool = True) -> list[PluginInfo]:
        """One :class:`PluginInfo` per name (and per refused duplicate), sorted by name.

        ``load=True`` imports every plugin to say whether it loads; ``False`` imports nothing.
        """
        with self._lock:
            entries = list(self._all().values()) + list(self._shadowed)
            rows = []
            for entry in entries:
                if entry.origin == "builtin" and not include_builtins:
                    continue
                if load and entry.loader is not None:
                    self._load(entry)
                status: Status = (
                    "failed"
                    if entry.error is not None
                    else "loaded"
                    if entry.loaded
                    else "not loaded yet"
                )
                error = None if entry.error is None else (entry.message or str(entry.error))
                rows.append(
                    PluginInfo(
                        entry.name,
                        self.kind,
                        entry.distribution,
                        entry.version,
                        entry.target,
                        status,
                        error,
                    )
                )
            return sorted(rows, key=lambda r: (r.name, r.distribution))


def _builtin_metric_names() -> list[str]:
    metrics = importlib.import_module("csmetrics.metrics")
    return [m.name for m in metrics.builtins()]


metric_plugins: EntryPointRegistry[Metric] = EntryPointRegistry(
    METRIC_GROUP,
    {},
    kind="metric",
    check=verify_metric,
    reserved=_builtin_metric_names,
)
"""Metric plugins from the ``csmetrics.metrics`` entry-point group.

:mod:`csmetrics.metrics` holds the built-in metrics and run-time registrations and asks this
registry for any other name; a plugin with the name of a built-in metric is refused.
"""


def report(*, load: bool = True, include_builtins: bool = True) -> list[PluginInfo]:
    """Adapters and metrics together, sorted by kind and name: what ``csmetrics plugins`` prints.

    ``load=True`` imports every plugin to say whether it loads (and why not);
    ``include_builtins=False`` lists only what installed distributions provide.

    Examples
    --------
    >>> rows = report(load=False)
    >>> any(r.kind == "adapter" and r.name == "zendesk" for r in rows)
    True
    """
    rows: list[PluginInfo] = []
    for registry in _REGISTRIES:  # every registry made (adapters, metrics, …)
        rows.extend(registry.report(load=load, include_builtins=include_builtins))
    if include_builtins:
        version = _builtin_version()
        for kind, (module, names) in _BUILTIN_LISTS.items():
            for name in names():
                target = f"{module}:{name}"
                rows.append(PluginInfo(name, kind, _BUILTIN_DIST, version, target, "loaded"))
    return sorted(rows, key=lambda r: (r.kind, r.name, r.distribution))


def list_builtins(kind: PluginKind, module: str, names: Callable[[], Iterable[str]]) -> None:
    """Say where the built-ins of ``kind`` kept outside a registry live, for :func:`report`
    (the metric registry calls it: its built-ins are defined in :mod:`csmetrics.metrics`)."""
    _BUILTIN_LISTS[kind] = (module, names)


def format_report(rows: Iterable[PluginInfo]) -> str:
    """A plain-text table of :func:`report` rows, failures explained below it.

    Examples
    --------
    >>> print(format_report([PluginInfo("acme", "adapter", "csmetrics-acme", "0.1.0",
    ...     "csmetrics_acme:adapter", "loaded")]))
    kind     name  distribution          status
    adapter  acme  csmetrics-acme 0.1.0  loaded
    """
    rows = list(rows)
    table = [("kind", "name", "distribution", "status")] + [
        (r.kind, r.name, f"{r.distribution} {r.version or ''}".strip(), r.status) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    ]
    failed = [r for r in rows if r.error]
    if failed:
        lines.append("")
        lines.extend(f"{r.kind} {r.name!r} failed: {r.error}" for r in failed)
    return "\n".join(lines)
