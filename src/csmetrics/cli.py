"""The ``csmetrics`` command line: parse, call the public API, print.

Exit codes: 0 success, 1 bad input (any :class:`~csmetrics.CsMetricsError`: the message is
one line plus a hint; ``--debug`` shows the traceback), 2 usage errors (argparse).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import polars as pl

import csmetrics as csm
from csmetrics import _analysis_cli
from csmetrics.engines import ENGINES, collect
from csmetrics.exceptions import CsMetricsError, PolicyError
from csmetrics.policy import PRESETS
from csmetrics.report.text import headline_table, render_table

__all__ = ["main"]

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE = 0, 1, 2
FORMATS = ("table", "csv", "json", "parquet")

EPILOG = textwrap.dedent(
    """\
    examples:
      csmetrics demo
      csmetrics report events.parquet --by channel --period week
      csmetrics report tickets.csv --tz Europe/Paris --preset zendesk --format csv -o out.csv
      csmetrics cases events.parquet -o cases.parquet
      csmetrics explain events.parquet 1042
      csmetrics validate events.csv --tz UTC --rejects rejects.csv

    exit codes: 0 ok, 1 bad input (message and hint on one line; --debug for a traceback),
    2 usage error.
    """
)


class Progress:
    """Elapsed time of a long step on standard error, only when it is a terminal.

    Polars releases the GIL while it works, so a small thread can redraw the line; in a
    pipe, a log file or CI nothing is printed at all.
    """

    def __init__(self, label: str, *, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = 0.0

    def _draw(self, final: bool = False) -> None:
        elapsed = time.perf_counter() - self._start
        text = f"\r{self.label}: {'done in ' if final else ''}{elapsed:.1f}s"
        self.stream.write(text + ("\n" if final else ""))
        self.stream.flush()

    def _run(self) -> None:
        while not self._done.wait(0.2):
            self._draw()

    def __enter__(self) -> Progress:
        self._start = time.perf_counter()
        if self.enabled:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._draw(final=True)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("events", help="event log: a file, a glob or a folder of Parquet files")
    parser.add_argument("--adapter", default="canonical", help="source adapter (default canonical)")
    parser.add_argument("--tz", help="IANA zone of naive time stamps, e.g. Europe/Paris")
    parser.add_argument(
        "--format-in",
        dest="format_in",
        choices=("parquet", "csv", "ipc", "ndjson", "json"),
        help="input format when the suffix does not tell",
    )


def _add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        default="auto",
        choices=ENGINES,
        help="Polars engine: auto (streaming), in-memory, streaming, gpu (falls back to CPU)",
    )


def _add_policy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="csmetrics", choices=PRESETS, help="definitions")
    parser.add_argument("--as-of", dest="as_of", help="observation end, ISO 8601 with offset")
    parser.add_argument("--timezone", help="zone periods are cut in (default UTC)")
    parser.add_argument(
        "--calendar", help="business calendar TOML file: adds business-time twins of durations"
    )


def _add_output(parser: argparse.ArgumentParser, default: str = "table") -> None:
    parser.add_argument("--format", default=default, choices=FORMATS, help="output format")
    parser.add_argument("-o", "--output", help="write here instead of standard output")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="csmetrics",
        description="Customer-service metrics from event logs of any channel.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"csmetrics {csm.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = commands.add_parser("demo", help="the channel-by-channel report on the built-in sample")
    demo.add_argument("--cases", type=int, default=None, help="simulate this many cases instead")
    demo.add_argument("--seed", type=int, default=0)
    _add_output(demo)

    report = commands.add_parser(
        "report",
        help="metrics per group and period",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_input(report)
    _add_policy(report)
    _add_engine(report)
    report.add_argument("--by", action="append", default=[], help="group by a column (repeat)")
    report.add_argument("--period", choices=("day", "week", "month", "quarter"))
    report.add_argument("--metric", action="append", default=[], help="metric name (repeat)")
    report.add_argument("--sla", help="SLA policy TOML file: adds sla_attainment per target")
    report.add_argument(
        "--on-invalid", dest="on_invalid", choices=("raise", "quarantine"), default="raise"
    )
    report.add_argument("--rejects", help="with --on-invalid quarantine: write rejected rows here")
    report.add_argument(
        "--format",
        default="table",
        choices=(*FORMATS, "html"),
        help="output format (html: the self-contained report with charts; needs -o)",
    )
    report.add_argument("-o", "--output", help="write here instead of standard output")

    cases = commands.add_parser("cases", help="the case table (one row per case)")
    _add_input(cases)
    _add_policy(cases)
    _add_engine(cases)
    _add_output(cases, default="parquet")

    explain = commands.add_parser("explain", help="how each clock of one case was measured")
    _add_input(explain)
    _add_policy(explain)
    explain.add_argument("case_id", help="the case to explain")

    validate = commands.add_parser("validate", help="check an event log against the schema")
    _add_input(validate)
    validate.add_argument("--rejects", help="write rejected rows (with reasons) here")

    journeys = commands.add_parser(
        "journeys", help="cross-channel journeys: switches, queue jumps, cross-channel FCR"
    )
    _add_input(journeys)
    _add_policy(journeys)
    journeys.add_argument("--window", default="7d", help="link cases within this (default 7d)")
    journeys.add_argument("--same-topic", action="store_true", help="link same-topic cases only")
    journeys.add_argument(
        "--identity", help="identity map file (channel, handle, customer_id) joining handles"
    )
    journeys.add_argument("--issues", help="also write one row per issue to this Parquet file")
    _add_output(journeys)

    _analysis_cli.add_parsers(commands, _add_input, _add_policy, _add_output)
    commands.add_parser("metrics", help="list the registered metrics")
    commands.add_parser("plugins", help="list plugins: loaded, from where, failures and why")
    return parser


def _policy(args: argparse.Namespace) -> csm.Policy:
    knobs: dict[str, Any] = {}
    if args.as_of:
        try:
            knobs["as_of"] = dt.datetime.fromisoformat(args.as_of.replace("Z", "+00:00"))
        except ValueError as exc:
            raise PolicyError(f"--as-of {args.as_of!r} is not ISO 8601") from exc
    if args.timezone:
        knobs["timezone"] = args.timezone
    return csm.Policy.preset(args.preset, **knobs)


def _calendar(args: argparse.Namespace) -> csm.BusinessCalendar | None:
    path = getattr(args, "calendar", None)
    return csm.BusinessCalendar.from_toml(path) if path else None


def _read(args: argparse.Namespace) -> csm.EventLog:
    return csm.scan_events(args.events, adapter=args.adapter, tz=args.tz, format=args.format_in)


def _write(frame: pl.DataFrame, fmt: str, output: str | None, *, title: str | None = None) -> None:
    if fmt == "parquet":
        if not output:
            raise PolicyError("--format parquet needs -o/--output FILE")
        frame.write_parquet(output)
        return
    if fmt == "csv":
        text = frame.write_csv()
    elif fmt == "json":
        text = frame.write_json()
    else:
        text = render_table(frame, title=title) + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _write_rejects(log: csm.EventLog, path: str | None) -> int:
    if log.rejected is None:
        return 0
    rejected = log.rejected.collect()
    if path:
        if path.endswith(".parquet"):
            rejected.write_parquet(path)
        else:
            rejected.write_csv(path)
    return rejected.height


def _report_table(result: pl.DataFrame, by: Sequence[str], period: bool, fmt: str) -> pl.DataFrame:
    if fmt != "table":
        return result
    if len(by) == 1 and not period:
        return headline_table(result, by[0])
    keys = [*by, *(["period_start"] if period else [])]
    return headline_table(
        result.with_columns(
            pl.concat_str(
                [pl.col(k).cast(pl.String).fill_null("—") for k in keys], separator=" / "
            ).alias("group")
        )
        if keys
        else result,
        "group" if keys else None,
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.cases:
        log = csm.datasets.simulate(n_cases=args.cases, seed=args.seed)
        name = f"simulated log ({args.cases} cases, seed {args.seed})"
    else:
        log = csm.datasets.sample_log()
        name = "built-in sample log"
    frame = log.frame.collect()
    result = csm.compute(frame.lazy(), by="channel").collect()
    cases = csm.case_table(frame.lazy()).collect()
    as_of = cases["as_of"].max()
    as_of_text = as_of.isoformat() if isinstance(as_of, dt.datetime) else "—"
    summary = (
        f"csmetrics demo: {name}: {frame.height:,} events, {cases.height:,} cases, "
        f"{frame['channel'].n_unique()} channels, {int(cases['is_open'].sum()):,} open at "
        f"as_of {as_of_text}\n"
    )
    if args.format == "table":
        sys.stdout.write(summary + "\n")
        overall = csm.compute(frame.lazy()).collect().with_columns(pl.lit("all").alias("channel"))
        shown = headline_table(pl.concat([overall, result], how="diagonal_relaxed"), "channel")
        _write(shown, "table", args.output, title="headline value (n = cases or pairs) by channel")
        sys.stdout.write(
            "\nDurations are medians, rates shares of their population; "
            "see `csmetrics metrics` for each definition.\n"
        )
    else:
        _write(result, args.format, args.output)
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    log = _read(args)
    policy = _policy(args)
    if args.on_invalid == "quarantine":
        log = log.checked("quarantine")
        n_rejected = _write_rejects(log, args.rejects)
        n_good = log.frame.select(pl.len()).collect().item()
        sys.stderr.write(
            f"csmetrics: {n_good} valid events used, {n_rejected} rejected"
            + (f" (written to {args.rejects})" if args.rejects else "")
            + "\n"
        )
    if args.format == "html":
        if not args.output:
            raise PolicyError("--format html needs -o/--output FILE")
        if len(args.by) > 1:
            raise PolicyError(f"--format html compares one --by column (got {args.by})")
        csm.Report(
            log,
            policy=policy,
            by=args.by[0] if args.by else "channel",
            period=args.period or "week",
            calendar=_calendar(args),
            sla=csm.SlaPolicy.from_toml(args.sla) if args.sla else None,
            on_invalid=args.on_invalid,
        ).to_html(args.output)
        sys.stderr.write(f"csmetrics: HTML report written to {args.output}\n")
        return EXIT_OK
    result_plan = csm.compute(
        log,
        args.metric or None,
        by=args.by,
        period=args.period,
        policy=policy,
        calendar=_calendar(args),
        sla=csm.SlaPolicy.from_toml(args.sla) if args.sla else None,
        on_invalid=args.on_invalid,
    )
    with Progress("computing metrics"):
        result = collect(result_plan, args.engine)
    if "target" in result.columns:  # fold the SLA target into the metric's label
        result = result.with_columns(
            pl.when(pl.col("target").is_not_null())
            .then(pl.format("{}[{}]", "metric", "target"))
            .otherwise(pl.col("metric"))
            .alias("metric")
        ).drop("target")
    _write(_report_table(result, args.by, bool(args.period), args.format), args.format, args.output)
    return EXIT_OK


def _cmd_cases(args: argparse.Namespace) -> int:
    plan = csm.case_table(_read(args), _policy(args), calendar=_calendar(args))
    with Progress("building the case table"):
        table = collect(plan, args.engine)
    _write(table, args.format, args.output)
    if args.output:
        sys.stderr.write(f"csmetrics: {table.height} cases written to {args.output}\n")
    return EXIT_OK


def _cmd_explain(args: argparse.Namespace) -> int:
    log = _read(args)
    schema = log.frame.collect_schema()
    case_id: object = args.case_id
    if schema["case_id"].is_integer():
        try:
            case_id = int(args.case_id)
        except ValueError as exc:
            raise PolicyError(f"case ids are integers in this log (got {args.case_id!r})") from exc
    frame = csm.explain(log, case_id, _policy(args))
    sys.stdout.write(render_table(frame, title=f"case {args.case_id}") + "\n")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    log = _read(args).checked("quarantine")
    n_good = log.frame.select(pl.len()).collect().item()
    n_rejected = _write_rejects(log, args.rejects)
    sys.stdout.write(f"{n_good} valid events, {n_rejected} rejected\n")
    if n_rejected and log.rejected is not None:
        counts = log.rejected.group_by("reason", "reason_column").len().sort("len", descending=True)
        sys.stdout.write(render_table(counts.collect()) + "\n")
    return EXIT_OK if n_rejected == 0 else EXIT_BAD_INPUT


def _cmd_journeys(args: argparse.Namespace) -> int:
    from csmetrics.metrics import journeys as journey_family

    log = _read(args)
    identity = None
    if args.identity:
        identity = csm.IdentityMap.from_frame(csm.scan_events(args.identity).frame)
    options: dict[str, Any] = {
        "window": args.window,
        "same_topic": args.same_topic,
        "policy": _policy(args),
        "identity": identity,
    }
    names = [name for name in journey_family.FRAMES if name not in journey_family.KEYS]
    result = csm.journey_metrics(log, names, **options).collect()
    matrix = csm.channel_switch_matrix(log, **options).collect()
    if args.issues:
        issues = csm.journeys(
            log,
            window=args.window,
            same_topic=args.same_topic,
            policy=options["policy"],
            identity=identity,
        ).collect()
        issues.write_parquet(args.issues)
        sys.stderr.write(f"csmetrics: {issues.height} issues written to {args.issues}\n")
    if args.format == "table":
        shown = headline_table(result)
        text = render_table(shown, title="cross-channel journeys") + "\n\n"
        text += render_table(matrix, title="channel switch matrix (from -> to)") + "\n"
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    else:
        _write(result, args.format, args.output)
    return EXIT_OK


def _cmd_metrics(args: argparse.Namespace) -> int:
    rows = []
    for name in csm.metrics.names():
        try:
            metric = csm.metrics.get(name)
        except CsMetricsError as exc:  # a broken plugin: listed, never fatal
            failure = f"failed to load: {str(exc).splitlines()[0]}"
            rows.append({"metric": name, "unit": "-", "kind": "-", "definition": failure})
            continue
        rows.append(
            {
                "metric": name,
                "unit": metric.unit,
                "kind": metric.kind,
                "definition": metric.definition,
            }
        )
    sys.stdout.write(render_table(pl.DataFrame(rows)) + "\n")
    return EXIT_OK


def _cmd_plugins(args: argparse.Namespace) -> int:
    try:
        from csmetrics import plugins
    except ImportError:  # pragma: no cover
        sys.stdout.write("plugin system unavailable\n")
        return EXIT_OK
    report = getattr(plugins, "report", None)
    if report is None:
        sys.stdout.write("no plugin report available\n")
        return EXIT_OK
    table = report()
    sys.stdout.write(render_table(pl.DataFrame(table)) + "\n" if len(table) else "no plugins\n")
    return EXIT_OK


def _cmd_analysis(args: argparse.Namespace) -> int:
    _analysis_cli.run(args, _read(args), _policy(args), _write)
    return EXIT_OK


_COMMANDS = {
    **dict.fromkeys(_analysis_cli.COMMANDS, _cmd_analysis),
    "demo": _cmd_demo,
    "report": _cmd_report,
    "cases": _cmd_cases,
    "explain": _cmd_explain,
    "validate": _cmd_validate,
    "journeys": _cmd_journeys,
    "metrics": _cmd_metrics,
    "plugins": _cmd_plugins,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except CsMetricsError as exc:
        if args.debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"csmetrics: error: {message}\n")
        sys.stderr.write(
            "hint: run with --debug for the traceback; `csmetrics --help` lists options\n"
        )
        return EXIT_BAD_INPUT
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
        if args.debug:
            raise
        sys.stderr.write(f"csmetrics: error: {type(exc).__name__}: {str(exc).splitlines()[0]}\n")
        sys.stderr.write("hint: check the input file; run with --debug for the traceback\n")
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
