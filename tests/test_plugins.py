"""The plugin contract and the entry-point registries (csmetrics.plugins, csmetrics.adapters).

Most tests build fake entry points over small modules written to a temporary folder, so they
need no installed plugin; the last ones use the example plugins in ``examples/`` when they are
installed (``pip install ./examples/plugin-acme ./examples/plugin-broken``) and skip otherwise.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import csmetrics as csm
import csmetrics.adapters as adapters
from csmetrics import plugins
from csmetrics.exceptions import PluginError, UnknownMetricError
from csmetrics.plugins import EntryPointRegistry, verify_adapter, verify_metric

GROUP = "csmetrics.test_plugins"

MODULES = {
    "csm_fake_good": """
        plugin_api = 1

        def adapter(source, *, tz=None, **options):
            return ("read", source, tz)

        class Rate:
            name = "fake_rate"
            unit = "ratio"
            level = "case"
            kind = "rate"
            definition = "Share of merged cases."
            docs = "#fake_rate"
            columns = ("merged",)

            def population(self, policy):
                import polars as pl
                return pl.lit(True)

            def value(self, policy):
                import polars as pl
                return pl.col("merged")

        metric = Rate()
    """,
    "csm_fake_other": """
        def adapter(source, *, tz=None):
            return ("other", source)
    """,
    "csm_fake_broken": """
        raise RuntimeError("broken on purpose")
    """,
    "csm_fake_future": """
        plugin_api = 2

        def adapter(source, *, tz=None):
            return None
    """,
    "csm_fake_shapeless": """
        class Shapeless:
            name = "shapeless"
            unit = "parsecs"

        metric = Shapeless()
        not_callable = 42

        def no_tz(source, mode):
            return None
    """,
}


@dataclasses.dataclass(frozen=True)
class FakeDist:
    name: str
    version: str


@dataclasses.dataclass(frozen=True)
class FakeEntryPoint:
    """Duck-types importlib.metadata.EntryPoint: name, value, module, dist, load()."""

    name: str
    value: str
    dist: FakeDist | None

    @property
    def module(self) -> str:
        return self.value.partition(":")[0]

    def load(self) -> Any:
        return importlib.metadata.EntryPoint(self.name, self.value, GROUP).load()


def ep(name: str, value: str, dist: str = "acme-plugins", version: str = "1.0") -> FakeEntryPoint:
    return FakeEntryPoint(name, value, FakeDist(dist, version))


@pytest.fixture(scope="module")
def fake_modules(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fake plugin modules, importable for the module's tests, forgotten afterwards."""
    folder = tmp_path_factory.mktemp("fake_plugins")
    for name, source in MODULES.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    for name in MODULES:
        sys.modules.pop(name, None)


@pytest.fixture
def fresh(fake_modules: Path) -> Iterator[None]:
    """Each test imports the fake modules afresh (loading is what is under test)."""
    for name in MODULES:
        sys.modules.pop(name, None)
    yield
    for name in MODULES:
        sys.modules.pop(name, None)


def adapter_registry(
    *entry_points: FakeEntryPoint, builtins: Any = None
) -> EntryPointRegistry[Any]:
    return EntryPointRegistry(
        GROUP,
        builtins if builtins is not None else {"zendesk": "csmetrics.adapters.zendesk:adapter"},
        kind="adapter",
        check=verify_adapter,
        entry_points=lambda: entry_points,
    )


def metric_registry(*entry_points: FakeEntryPoint) -> EntryPointRegistry[Any]:
    return EntryPointRegistry(
        GROUP, {}, kind="metric", check=verify_metric, entry_points=lambda: entry_points
    )


def by_name(rows: list[plugins.PluginInfo]) -> dict[tuple[str, str], plugins.PluginInfo]:
    return {(r.name, r.distribution): r for r in rows}


# -- discovery and lazy loading ----------------------------------------------------------------


@pytest.mark.usefixtures("fresh")
def test_names_import_no_plugin_code() -> None:
    registry = adapter_registry(ep("good", "csm_fake_good:adapter"))
    assert registry.names() == ("good", "zendesk")
    assert "csm_fake_good" not in sys.modules
    rows = by_name(registry.report(load=False))
    assert rows["good", "acme-plugins"].status == "not loaded yet"
    assert "csm_fake_good" not in sys.modules


@pytest.mark.usefixtures("fresh")
def test_get_loads_once_and_reports_loaded() -> None:
    registry = adapter_registry(ep("good", "csm_fake_good:adapter"))
    first = registry.get("good")
    assert first("x.csv", tz="UTC") == ("read", "x.csv", "UTC")
    assert registry.get("good") is first
    row = by_name(registry.report(load=False))["good", "acme-plugins"]
    assert (row.status, row.version, row.target) == ("loaded", "1.0", "csm_fake_good:adapter")


@pytest.mark.usefixtures("fresh")
def test_broken_plugin_raises_only_when_asked_and_chains_the_cause() -> None:
    registry = adapter_registry(
        ep("good", "csm_fake_good:adapter"),
        ep("broken", "csm_fake_broken:adapter", dist="broken-dist", version="0.3"),
    )
    assert registry.names() == ("broken", "good", "zendesk")
    assert registry.get("good")("a")[0] == "read"
    with pytest.raises(PluginError, match=r"'broken'.*broken-dist 0\.3.*RuntimeError") as info:
        registry.get("broken")
    assert isinstance(info.value.__cause__, RuntimeError)
    assert isinstance(info.value, ImportError)  # PluginError(CsMetricsError, ImportError)
    rows = by_name(registry.report())
    assert rows["broken", "broken-dist"].status == "failed"
    assert "broken on purpose" in (rows["broken", "broken-dist"].error or "")
    assert rows["good", "acme-plugins"].status == "loaded"
    assert rows["zendesk", "csmetrics"].status == "loaded"


@pytest.mark.usefixtures("fresh")
def test_duplicate_name_names_both_distributions() -> None:
    registry = adapter_registry(
        ep("good", "csm_fake_good:adapter", dist="acme-plugins"),
        ep("good", "csm_fake_other:adapter", dist="globex-plugins", version="2.0"),
        ep("other", "csm_fake_other:adapter", dist="globex-plugins", version="2.0"),
    )
    assert registry.names() == ("good", "other", "zendesk")
    with pytest.raises(PluginError, match=r"acme-plugins.*globex-plugins") as info:
        registry.get("good")
    assert info.value.__cause__ is None
    assert registry.get("other")("s") == ("other", "s")
    row = next(r for r in registry.report() if r.name == "good")
    assert row.status == "failed"
    assert row.distribution == "acme-plugins, globex-plugins"


@pytest.mark.usefixtures("fresh")
def test_same_distribution_seen_twice_is_not_a_duplicate() -> None:
    twice = ep("good", "csm_fake_good:adapter")
    registry = adapter_registry(twice, twice)
    assert registry.get("good")("a")[0] == "read"


@pytest.mark.usefixtures("fresh")
def test_a_plugin_cannot_shadow_a_builtin() -> None:
    registry = adapter_registry(ep("zendesk", "csm_fake_good:adapter", dist="impostor"))
    assert registry.get("zendesk") is adapters.get_adapter("zendesk")
    rows = by_name(registry.report())
    assert rows["zendesk", "csmetrics"].status == "loaded"
    assert rows["zendesk", "impostor"].status == "failed"
    assert "built-in" in (rows["zendesk", "impostor"].error or "")
    assert "csm_fake_good" not in sys.modules


@pytest.mark.usefixtures("fresh")
def test_plugin_api_mismatch_is_refused_with_both_versions() -> None:
    registry = adapter_registry(ep("future", "csm_fake_future:adapter"))
    with pytest.raises(PluginError, match=r"plugin API 2.*provides plugin API 1"):
        registry.get("future")
    assert plugins.PLUGIN_API == 1


@pytest.mark.usefixtures("fresh")
def test_nonconforming_metric_names_the_missing_members() -> None:
    registry = metric_registry(ep("shapeless", "csm_fake_shapeless:metric"))
    with pytest.raises(PluginError) as info:
        registry.get("shapeless")
    message = str(info.value)
    assert "'level', 'definition', 'docs', 'kind', 'columns'" in message
    assert "'population', 'value'" in message
    assert "acme-plugins 1.0" in message


@pytest.mark.usefixtures("fresh")
def test_metric_name_must_equal_the_entry_point_name() -> None:
    registry = metric_registry(
        ep("fake_rate", "csm_fake_good:metric"), ep("alias", "csm_fake_good:metric")
    )
    assert registry.get("fake_rate").name == "fake_rate"
    with pytest.raises(PluginError, match="registered as 'alias'"):
        registry.get("alias")


@pytest.mark.usefixtures("fresh")
def test_entry_point_names_must_be_snake_case() -> None:
    registry = adapter_registry(ep("Good-One", "csm_fake_good:adapter"))
    with pytest.raises(PluginError, match="snake_case"):
        registry.get("Good-One")


@pytest.mark.usefixtures("fresh")
def test_adapters_must_be_callable_with_source_and_tz() -> None:
    registry = adapter_registry(
        ep("number", "csm_fake_shapeless:not_callable"), ep("no_tz", "csm_fake_shapeless:no_tz")
    )
    with pytest.raises(PluginError, match="not callable"):
        registry.get("number")
    with pytest.raises(PluginError, match="cannot take"):
        registry.get("no_tz")


def test_unknown_name_suggests_close_names() -> None:
    registry = adapter_registry()
    with pytest.raises(UnknownMetricError, match="did you mean 'zendesk'") as info:
        registry.get("zendesc")
    assert isinstance(info.value, KeyError)


def test_discovery_failure_keeps_builtins() -> None:
    def explode() -> list[FakeEntryPoint]:
        raise OSError("unreadable metadata")

    registry: EntryPointRegistry[Any] = EntryPointRegistry(
        GROUP,
        {"zendesk": "csmetrics.adapters.zendesk:adapter"},
        kind="adapter",
        check=verify_adapter,
        entry_points=explode,
    )
    assert registry.names() == ("zendesk",)
    assert registry.get("zendesk").name == "zendesk"
    failed = [r for r in registry.report() if r.status == "failed"]
    assert len(failed) == 1
    assert "unreadable metadata" in (failed[0].error or "")


@pytest.mark.usefixtures("fresh")
def test_refresh_rediscovers() -> None:
    found: list[FakeEntryPoint] = []
    registry: EntryPointRegistry[Any] = EntryPointRegistry(
        GROUP, {}, kind="adapter", check=verify_adapter, entry_points=lambda: found
    )
    assert registry.names() == ()
    found.append(ep("good", "csm_fake_good:adapter"))
    assert registry.names() == ()  # discovered once
    registry.refresh()
    assert registry.names() == ("good",)


def test_builtins_given_as_factories() -> None:
    def shout(source: str, *, tz: str | None = None) -> str:
        return source.upper()

    registry: EntryPointRegistry[Any] = EntryPointRegistry(
        GROUP,
        {"shout": lambda: shout},
        kind="adapter",
        check=verify_adapter,
        entry_points=lambda: (),
    )
    assert registry.get("shout")("hi") == "HI"
    row = registry.report()[0]
    assert (row.distribution, row.status) == ("csmetrics", "loaded")


# -- run-time registration -----------------------------------------------------------------


def test_register_at_run_time() -> None:
    registry = adapter_registry()

    def carrier_pigeon(source: object, *, tz: str | None = None) -> str:
        return "coo"

    assert registry.register(carrier_pigeon) is carrier_pigeon
    assert registry.get("carrier_pigeon")("loft") == "coo"
    with pytest.raises(PluginError, match=r"already registered.*replace=True"):
        registry.register(carrier_pigeon)
    registry.register(lambda source, tz=None: "new", name="carrier_pigeon", replace=True)
    assert registry.get("carrier_pigeon")("loft") == "new"
    row = by_name(registry.report())["carrier_pigeon", "<runtime>"]
    assert row.status == "loaded"
    registry.unregister("carrier_pigeon")
    assert "carrier_pigeon" not in registry.names()
    with pytest.raises(UnknownMetricError):
        registry.unregister("carrier_pigeon")


def test_register_refuses_nonconforming_objects_and_bad_names() -> None:
    registry = adapter_registry()
    with pytest.raises(PluginError, match="not callable"):
        registry.register(42, name="answer")
    with pytest.raises(PluginError, match="snake_case"):
        registry.register(lambda source, tz=None: None)  # its name is '<lambda>'
    with pytest.raises(PluginError, match="already registered"):
        registry.register(lambda source, tz=None: None, name="zendesk")


def test_register_metric_checks_the_shape() -> None:
    registry = metric_registry()

    @dataclasses.dataclass(frozen=True)
    class Everyone:
        name: str = "everyone"
        unit: str = "count"
        level: str = "case"
        kind: str = "count"
        definition: str = "Every case."
        docs: str = "#everyone"
        columns: tuple[str, ...] = ()

        def population(self, policy: object) -> pl.Expr:
            return pl.lit(value=True)

        def value(self, policy: object) -> pl.Expr:
            return pl.lit(1)

    registry.register(Everyone())
    assert registry.get("everyone").kind == "count"
    with pytest.raises(PluginError, match="'unit' must be in"):
        registry.register(dataclasses.replace(Everyone(), name="wrong", unit="parsecs"))


def test_global_adapter_registry() -> None:
    assert {"mapping", "twitter", "servicenow", "xes", "zendesk", "intercom"} <= set(
        adapters.names()
    )
    assert adapters.get_adapter("intercom").name == "intercom"

    def echo(source: object, *, tz: str | None = None) -> object:
        return source

    try:
        adapters.register(echo)
        assert adapters.get_adapter("echo") is echo
    finally:
        adapters.REGISTRY.unregister("echo")


def test_protocols_describe_the_builtins() -> None:
    assert isinstance(adapters.get_adapter("zendesk"), plugins.Adapter)
    for metric in csm.metrics.builtins():
        assert isinstance(metric, plugins.Metric)
        verify_metric(metric, metric.name)


def test_format_report_lists_failures_below() -> None:
    rows = [
        plugins.PluginInfo("acme", "adapter", "csmetrics-acme", "0.1.0", "a:b", "loaded"),
        plugins.PluginInfo("bad", "metric", "bad-dist", None, "c:d", "failed", "boom"),
    ]
    text = plugins.format_report(rows)
    assert text.splitlines()[1].split() == ["adapter", "acme", "csmetrics-acme", "0.1.0", "loaded"]
    assert text.splitlines()[-1] == "metric 'bad' failed: boom"


# -- the example plugins, when installed ---------------------------------------------------


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


needs_acme = pytest.mark.skipif(
    not _installed("csmetrics-acme"),
    reason="example plugin not installed: pip install ./examples/plugin-acme",
)
needs_broken = pytest.mark.skipif(
    not _installed("csmetrics-broken"),
    reason="example plugin not installed: pip install ./examples/plugin-broken",
)


@needs_acme
def test_installed_plugin_is_discovered_listed_and_usable(tmp_path: Path) -> None:
    assert "acme" in adapters.names()
    assert "acme_quick_reply_rate" in csm.metrics.names()
    rows = by_name(plugins.report(include_builtins=False))
    assert rows["acme", "csmetrics-acme"].status == "loaded"
    assert rows["acme_quick_reply_rate", "csmetrics-acme"].version == "0.1.0"
    metric = csm.metrics.get("acme_quick_reply_rate")
    assert isinstance(metric, plugins.Metric)
    assert (metric.kind, metric.unit) == ("rate", "ratio")
    sample = tmp_path / "acme.csv"
    sample.write_text(
        "ticket,customer,at,action\n"
        "1,c1,2024-03-01T09:00:00Z,opened\n"
        "1,c1,2024-03-01T09:10:00Z,agent_wrote\n"
        "1,c1,2024-03-01T09:11:00Z,teleported\n"
    )
    log = csm.scan_events(sample, adapter="acme")
    assert log.frame.collect()["event_type"].to_list() == ["case_created", "message"]
    assert log.rejected is not None
    assert log.rejected.collect()["reason"].to_list() == ["unknown_event_type"]


@needs_broken
def test_installed_broken_plugins_break_nothing_else() -> None:
    rows = by_name(plugins.report(include_builtins=False))
    for name in ("broken", "future_adapter", "broken_metric", "shapeless_metric"):
        row = rows[name, "csmetrics-broken"]
        assert row.status == "failed", row
        assert row.error
    with pytest.raises(PluginError, match="csmetrics-broken") as info:
        adapters.get_adapter("broken")
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(PluginError, match="plugin API 2"):
        adapters.get_adapter("future_adapter")
    with pytest.raises(PluginError, match="does not conform"):
        csm.metrics.get("shapeless_metric")
    # everything else keeps working
    assert adapters.get_adapter("zendesk").name == "zendesk"
    assert csm.metrics.get("first_response_time").name == "first_response_time"
    assert "broken_metric" in csm.metrics.names()
    text = plugins.format_report(plugins.report())
    assert "broken_metric' failed" in text
