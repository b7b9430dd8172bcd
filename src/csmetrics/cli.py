"""The ``csmetrics`` command line: parse, call the public API, print.

Exit codes: 0 success, 1 bad input (any :class:`~csmetrics.CsMetricsError`: the message is
one line plus a hint; ``--debug`` shows the traceback), 2 usage errors (argparse).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import textwrap
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import polars as pl

import csmetrics as csm
from csmetrics import _analysis_cli, _outputs, plugins
from csmetrics import _cli_args as check
from csmetrics._periods import Period, parse_range
from csmetrics._progress import Steps, since_process_start
from csmetrics._text import WIDTH, wrap
from csmetrics.adapters._base import parse_options
from csmetrics.engines import ENGINES, collect
from csmetrics.exceptions import CsMetricsError, PolicyError
from csmetrics.policy import PRESETS
from csmetrics.report.text import (
    HEADLINE,
    explain_table,
    format_value,
    headline_table,
    headline_text,
    period_tables,
    render_table,
)

__all__ = ["main"]

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE = 0, 1, 2
FORMATS = ("table", "csv", "json", "parquet")

EPILOG = textwrap.dedent(
    """\
    examples:
      csmetrics demo
      csmetrics report events.parquet --by channel --period week
      csmetrics report events.parquet --by team --period weekday --since "last 4 weeks"
      csmetrics report events.parquet --as-of "2024-03-01 09:00 Europe/Paris" --period 1h
      csmetrics report tickets.csv --tz Europe/Paris --preset zendesk --format csv -o out.csv
      csmetrics cases events.parquet -o cases.parquet
      csmetrics explain events.parquet 1042
      csmetrics validate events.csv --tz UTC --rejects rejects.csv

    exit codes: 0 ok, 1 bad input (message and hint on one line; --debug for a traceback),
    2 usage error.
    """
)


Progress = Steps
"""The progress line of every command (see :mod:`csmetrics._progress`)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


FORMATS_IN = ("parquet", "csv", "ipc", "ndjson", "json")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show the progress line and the timings on standard error even when it is not "
        "a terminal (on a terminal they are always shown)",
    )


def _add_input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("events", help="event log: a file, a glob or a folder of Parquet files")
    parser.add_argument(
        "--adapter",
        default="canonical",
        help="source adapter: canonical (default), zendesk, intercom, servicenow, twitter, "
        "xes, mapping or a plugin's",
    )
    parser.add_argument(
        "--tz",
        type=check.zone("--tz"),
        help="IANA zone of time stamps written without an offset, e.g. --tz Europe/Paris",
    )
    parser.add_argument(
        "--format-in",
        dest="format_in",
        metavar="FORMAT",
        type=check.choice("--format-in", FORMATS_IN),
        help=f"input format when the file suffix does not tell: {', '.join(FORMATS_IN)}",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="adapter option (repeat), value as TOML: --option missing_caller=unknown",
    )
    _add_common(parser)


def _add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        default="auto",
        metavar="ENGINE",
        type=check.choice("--engine", ENGINES),
        help="Polars engine: auto (default: streaming), in-memory, streaming, gpu (falls "
        "back to the CPU)",
    )


def _add_policy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset",
        default="csmetrics",
        metavar="PRESET",
        type=check.choice("--preset", PRESETS),
        help=f"metric definitions: {', '.join(PRESETS)} (default csmetrics; see the docs' "
        "presets page)",
    )
    parser.add_argument(
        "--as-of",
        dest="as_of",
        metavar="WHEN",
        type=check.instant,
        help='observation end: "2024-03-01 09:00 Europe/Paris", 2024-03-01T09:00:00+01:00 '
        "or now (default: the last event)",
    )
    parser.add_argument(
        "--timezone",
        type=check.zone("--timezone"),
        help="IANA zone days, weeks and months are cut in (default UTC)",
    )
    parser.add_argument(
        "--calendar",
        metavar="TOML",
        help="business calendar TOML file: adds business-time twins of the durations",
    )


def _add_output(parser: argparse.ArgumentParser, default: str = "table") -> None:
    parser.add_argument(
        "--format",
        default=default,
        metavar="FORMAT",
        type=check.choice("--format", FORMATS),
        help=f"output format: {', '.join(FORMATS)} (default {default})",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write here instead of standard output"
    )
    _add_csv_raw(parser)


def _add_csv_raw(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--csv-raw",
        dest="csv_raw",
        action="store_true",
        help="write CSV text cells verbatim (by default a cell starting with = + - @ tab or "
        "CR gets a leading ' so spreadsheets do not run it as a formula)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="csmetrics",
        description="Customer-service metrics from event logs of any channel.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the Python traceback of an error"
    )
    parser.add_argument("--version", action="version", version=f"csmetrics {csm.__version__}")
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        parser_class=_Parser,
        metavar="COMMAND",
        help="what to do (`csmetrics COMMAND --help` for its options)",
    )

    demo = commands.add_parser("demo", help="the channel-by-channel report on the built-in sample")
    demo.add_argument(
        "--cases",
        type=check.positive_int("--cases"),
        default=None,
        help="simulate a log of this many cases instead of the built-in sample",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed of the simulation (with --cases; the same seed gives the same log)",
    )
    _add_output(demo)
    _add_common(demo)

    report = commands.add_parser(
        "report",
        help="metrics per group and period",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_input(report)
    _add_policy(report)
    _add_engine(report)
    report.add_argument(
        "--by",
        action="append",
        default=[],
        metavar="COLUMN",
        help="group by a case-table column: channel, team, topic, priority, agent_id … (repeat "
        "for several)",
    )
    report.add_argument(
        "--period",
        type=check.period,
        metavar="PERIOD",
        help="also per period: hour, day, week (from Monday), month, quarter, year; a Polars "
        "duration (15m, 1h, 1d, 2w, 1mo); or a profile, weekday (Monday … Sunday) or "
        "hour_of_day (0 … 23)",
    )
    report.add_argument(
        "--since",
        metavar="RANGE",
        type=check.since,
        help='only cases created in a range: "last 4 weeks" (counted back from --as-of, '
        "else from the last event), 2024-01-01..2024-02-01, or a start date",
    )
    report.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="NAME",
        help="a metric to report (repeat; default all; `csmetrics metrics` lists them)",
    )
    report.add_argument(
        "--sla", metavar="TOML", help="SLA policy TOML file: adds sla_attainment per target"
    )
    report.add_argument(
        "--on-invalid",
        dest="on_invalid",
        type=check.choice("--on-invalid", ("raise", "quarantine")),
        metavar="{raise,quarantine}",
        default="raise",
        help="what an invalid event does: raise (default: stop with the first rule broken) or "
        "quarantine (leave the bad rows out, count them, --rejects writes them)",
    )
    report.add_argument(
        "--rejects",
        metavar="FILE",
        help="with --on-invalid quarantine: write the rejected rows and their reasons here "
        "(.csv or .parquet)",
    )
    report.add_argument(
        "--format",
        default="table",
        metavar="FORMAT",
        type=check.choice("--format", (*FORMATS, "html")),
        help=f"output format: {', '.join(FORMATS)} or html (the self-contained report with "
        "charts; needs -o)",
    )
    report.add_argument(
        "-o", "--output", metavar="FILE", help="write here instead of standard output"
    )
    _add_csv_raw(report)

    cases = commands.add_parser("cases", help="the case table (one row per case)")
    _add_input(cases)
    _add_policy(cases)
    _add_engine(cases)
    _add_output(cases, default="parquet")

    explain = commands.add_parser("explain", help="how each clock of one case was measured")
    _add_input(explain)
    _add_policy(explain)
    explain.add_argument("case_id", help="the case to explain (its case_id)")

    validate = commands.add_parser("validate", help="check an event log against the schema")
    _add_input(validate)
    validate.add_argument(
        "--rejects",
        metavar="FILE",
        help="write rejected rows (with reasons) here: .csv, .json, .parquet",
    )
    _add_csv_raw(validate)

    journeys = commands.add_parser(
        "journeys", help="cross-channel journeys: switches, queue jumps, cross-channel FCR"
    )
    _add_input(journeys)
    _add_policy(journeys)
    journeys.add_argument(
        "--window",
        default="7d",
        help="link a customer's next case to an issue when it starts within this of the "
        "last resolution (a Polars duration; default 7d)",
    )
    journeys.add_argument("--same-topic", action="store_true", help="link same-topic cases only")
    journeys.add_argument(
        "--identity", help="identity map file (channel, handle, customer_id) joining handles"
    )
    journeys.add_argument(
        "--issues", metavar="FILE", help="also write one row per issue to this Parquet file"
    )
    _add_output(journeys)

    _analysis_cli.add_parsers(commands, _add_input, _add_policy, _add_output)
    metrics = commands.add_parser("metrics", help="list the registered metrics")
    _add_common(metrics)
    plugins = commands.add_parser(
        "plugins", help="list plugins: loaded, from where, failures and why"
    )
    _add_common(plugins)
    return parser


def _policy(args: argparse.Namespace) -> csm.Policy:
    knobs: dict[str, Any] = {}
    if args.as_of:
        knobs["as_of"] = args.as_of  # parsed by check.instant (pendulum)
    if args.timezone:
        knobs["timezone"] = args.timezone
    return csm.Policy.preset(args.preset, **knobs)


def _calendar(args: argparse.Namespace) -> csm.BusinessCalendar | None:
    path = getattr(args, "calendar", None)
    return csm.BusinessCalendar.from_toml(path) if path else None


def _read(args: argparse.Namespace) -> csm.EventLog:
    options = parse_options(args.option)
    if options and args.adapter == "canonical":
        raise PolicyError("--option passes adapter options: name the adapter with --adapter")
    return csm.scan_events(
        args.events, adapter=args.adapter, tz=args.tz, format=args.format_in, options=options
    )


def _steps(args: argparse.Namespace, total: int | None = None) -> Steps:
    return Steps(
        enabled=True if getattr(args, "progress", False) else None,
        total=total,
        already=getattr(args, "_started", 0.0),
    )


def _emit(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _write(frame: pl.DataFrame, fmt: str, output: str | None, *, title: str | None = None) -> None:
    if fmt in ("parquet", "csv", "json"):  # durations, nested values, formulas: see _outputs
        _outputs.write_frame(frame, output, fmt)
        return
    _emit(render_table(frame, title=title) + "\n", output)


def _write_rejects(log: csm.EventLog, path: str | None) -> int:
    if log.rejected is None:
        return 0
    rejected = log.rejected.collect()
    if path:
        _outputs.write_frame(rejected, path)  # by suffix: .csv, .json, .ndjson, .parquet
    return rejected.height


def _report_text(result: pl.DataFrame, by: Sequence[str], period: Period | None) -> str:
    """The table text of ``report``: metrics × groups, or one periods × groups table a metric."""
    if period is not None:
        return period_tables(result, by, period) + "\n"
    if len(by) == 1:
        return render_table(headline_table(result, by[0]), title=_HEADLINE_TITLE) + "\n"
    if by:
        labelled = result.with_columns(
            pl.concat_str(
                [pl.col(k).cast(pl.String).fill_null("—") for k in by], separator=" / "
            ).alias("group")
        )
        return render_table(headline_table(labelled, "group"), title=_HEADLINE_TITLE) + "\n"
    shown = headline_table(result).select("metric", pl.col("shown").alias("value"), "n_open")
    return render_table(shown, title=_HEADLINE_TITLE) + "\n"


_HEADLINE_TITLE = "headline value (n = cases or pairs behind it); durations are medians"


def _since(log: csm.EventLog, args: argparse.Namespace) -> csm.EventLog:
    """Only the cases created in ``--since`` (every event of each, so no case is cut)."""
    if not getattr(args, "since", None):
        return log
    end = args.as_of
    if end is None:
        end = log.frame.select(pl.col("ts").max()).collect().item()
    if end is None:
        return log
    zone = args.timezone or "UTC"
    start, stop = parse_range(args.since, now=end, timezone=zone, option="--since")
    created = pl.col("ts").min().over("case_id")
    bounds = (
        pl.lit(start).cast(pl.Datetime("us", "UTC")),
        pl.lit(stop).cast(pl.Datetime("us", "UTC")),
    )
    kept = log.frame.filter((created >= bounds[0]) & (created <= bounds[1]))
    source = f"{log.source}, cases created {start:%Y-%m-%d %H:%M} to {stop:%Y-%m-%d %H:%M} UTC"
    return csm.EventLog(kept, log.rejected, source)


def _check_names(args: argparse.Namespace, log: csm.EventLog) -> None:
    """``--metric`` and ``--by`` names, checked before any work."""
    if getattr(args, "metric", None):
        check.check_metrics(args.metric, csm.metrics.names())
    if getattr(args, "by", None):
        columns = csm.case_table(log).collect_schema().names()
        check.check_by(args.by, columns)


def _cmd_demo(args: argparse.Namespace) -> int:
    with _steps(args, total=2) as steps:
        with steps.step(f"simulating {args.cases:,} cases" if args.cases else "loading"):
            if args.cases:
                log = csm.datasets.simulate(n_cases=args.cases, seed=args.seed)
                name = f"simulated log ({args.cases:,} cases, seed {args.seed})"
            else:
                log = csm.datasets.sample_log()
                name = "built-in sample log"
            frame = log.frame.collect()
        with steps.step("computing metrics"):
            lazy = frame.lazy()
            headline, by_channel, overall, facts = pl.collect_all(
                [
                    csm.compute(lazy, list(HEADLINE), by=["channel", "is_public"]),
                    csm.compute(lazy, by="channel"),
                    csm.compute(lazy).with_columns(pl.lit("all").alias("channel")),
                    csm.case_table(lazy).select(
                        pl.len().alias("cases"),
                        pl.col("merged").sum().alias("merged"),
                        pl.col("is_open").sum().alias("open"),
                        pl.col("as_of").max().alias("as_of"),
                    ),
                ]
            )
        row = facts.row(0, named=True)
        volume = overall.filter(pl.col("metric") == "volume")["value"]
        counted = int(volume[0]) if volume.len() and volume[0] is not None else row["cases"]
        as_of = row["as_of"]
        as_of_text = f"{as_of:%Y-%m-%d %H:%M} UTC" if isinstance(as_of, dt.datetime) else "—"
        merged = int(row["merged"] or 0)
        summary = (
            f"csmetrics demo: {name}: {frame.height:,} events, {row['cases']:,} cases in "
            f"{frame['channel'].n_unique()} channels, {int(row['open'] or 0):,} open at "
            f"as_of {as_of_text}."
        )
        if merged:
            summary += (
                f" {merged:,} of the cases were merged into another case: they are outside "
                f"every metric, so volume counts {counted:,} ({row['cases']:,} - {merged:,})."
            )
        if args.format == "table":
            shown = headline_table(
                pl.concat([overall, by_channel], how="diagonal_relaxed"), "channel"
            )
            text = wrap(summary, WIDTH) + "\n\n"
            text += headline_text(headline) + "\n\n"
            text += render_table(
                shown,
                title="every metric: headline value (n = cases or pairs behind it) by channel",
            )
            text += (
                "\n\n"
                + wrap(
                    "Durations are medians (s, m, h, d: seconds, minutes, hours, days), rates "
                    "shares of their population; `csmetrics metrics` gives each definition.",
                    WIDTH,
                )
                + "\n"
            )
            _emit(text, args.output)
        else:
            _write(by_channel, args.format, args.output)
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    html = args.format == "html"
    with _steps(args, total=3 if html else 2) as steps:
        with steps.step("reading events"):
            if html and not args.output:
                raise PolicyError("--format html needs -o/--output FILE")
            if html and len(args.by) > 1:
                raise PolicyError(f"--format html compares one --by column (got {args.by})")
            log = _read(args)
            policy = _policy(args)
            _check_names(args, log)
            if args.on_invalid == "quarantine":
                log = log.checked("quarantine")
                n_rejected = _write_rejects(log, args.rejects)
                n_good = log.frame.select(pl.len()).collect().item()
                sys.stderr.write(
                    f"csmetrics: {n_good:,} valid events used, {n_rejected:,} rejected"
                    + (f" (written to {args.rejects})" if args.rejects else "")
                    + "\n"
                )
            log = _since(log, args)
            calendar = _calendar(args)
            sla = csm.SlaPolicy.from_toml(args.sla) if args.sla else None
        period = args.period.name if args.period is not None else None
        if html:
            report = csm.Report(
                log,
                policy=policy,
                by=args.by[0] if args.by else "channel",
                period=period or "week",
                calendar=calendar,
                sla=sla,
                on_invalid=args.on_invalid,
            )
            with steps.step("computing the report"):
                report.collect()
            with steps.step("writing the HTML page"):
                report.to_html(args.output)
            sys.stderr.write(f"csmetrics: HTML report written to {args.output}\n")
            return EXIT_OK
        result_plan = csm.compute(
            log,
            args.metric or None,
            by=args.by,
            period=period,
            policy=policy,
            calendar=calendar,
            sla=sla,
            on_invalid=args.on_invalid,
        )
        lead = not args.metric and list(args.by) in ([], ["channel"]) and period is None
        with steps.step("computing metrics"):
            result = collect(result_plan, args.engine)
            headline = (
                collect(
                    csm.compute(log, list(HEADLINE), by=["channel", "is_public"], policy=policy),
                    args.engine,
                )
                if lead and args.format == "table"
                else None
            )
        if "target" in result.columns:  # fold the SLA target into the metric's label
            result = result.with_columns(
                pl.when(pl.col("target").is_not_null())
                .then(pl.format("{}[{}]", "metric", "target"))
                .otherwise(pl.col("metric"))
                .alias("metric")
            ).drop("target")
        if args.format == "table":
            text = _report_text(result, args.by, args.period)
            if headline is not None:  # the report leads with the four headline metrics
                text = headline_text(headline) + "\n\n" + text
            _emit(text, args.output)
        else:
            _write(result, args.format, args.output)
    return EXIT_OK


def _cmd_cases(args: argparse.Namespace) -> int:
    with _steps(args) as steps:
        plan = csm.case_table(_read(args), policy=_policy(args), calendar=_calendar(args))
        with steps.step("building the case table"):
            table = collect(plan, args.engine)
        _write(table, args.format, args.output)
    if args.output:
        sys.stderr.write(f"csmetrics: {table.height:,} cases written to {args.output}\n")
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
    with _steps(args) as steps, steps.step("explaining the case"):
        frame = csm.explain(log, case_id, policy=_policy(args))
    title = f"case {args.case_id}: its events and what each did to the clocks (times in UTC)"
    sys.stdout.write(explain_table(frame, title=title) + "\n")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    with _steps(args) as steps, steps.step("checking every row"):
        log = _read(args).checked("quarantine")
        with warnings.catch_warnings(record=True) as caught:  # cross-row facts: one line each
            warnings.simplefilter("always", csm.CsMetricsWarning)
            n_good = log.collect(on_invalid="quarantine").height
        n_rejected = _write_rejects(log, args.rejects)
    for warning in caught:
        sys.stderr.write(f"csmetrics: warning: {warning.message}\n")
    sys.stdout.write(f"{n_good:,} valid events, {n_rejected:,} rejected\n")
    if n_rejected and log.rejected is not None:
        counts = log.rejected.group_by("reason", "reason_column").len().sort("len", descending=True)
        sys.stdout.write(render_table(counts.collect().rename({"len": "rows"})) + "\n")
    return EXIT_OK if n_rejected == 0 else EXIT_BAD_INPUT


def _journey_text(result: pl.DataFrame, matrix: pl.DataFrame) -> str:
    rows = []
    for row in result.sort("metric").iter_rows(named=True):
        if row["metric"] == "contacts_per_issue":
            shown = "—" if row.get("mean") is None else f"{row['mean']:.2f} per issue (mean)"
        else:
            shown = format_value(row["value"], row["unit"])
        rows.append({"metric": row["metric"], "value": shown, "n": row["n"], "open": row["n_open"]})
    text = render_table(
        pl.DataFrame(rows),
        title="cross-channel journeys (n = issues, or cases for a rate of cases)",
    )
    text += "\n\n"
    if matrix.height:
        counts = matrix.pivot(
            on="to_channel", index="from_channel", values="count", aggregate_function="sum"
        ).sort("from_channel")
        names = sorted(c for c in counts.columns if c != "from_channel")
        counts = counts.select(
            pl.col("from_channel").alias("from \\ to"),
            *(pl.col(c).fill_null(0) for c in names),
        )
        text += render_table(
            counts,
            title="channel switch matrix: cases of one issue, from one channel (rows) to the next "
            "(columns); the diagonal counts same-channel repeats",
        )
    else:
        text += "channel switches: no customer issue has more than one case"
    return text + "\n"


def _cmd_journeys(args: argparse.Namespace) -> int:
    log = _read(args)
    identity = None
    if args.identity:
        identity = csm.IdentityMap.from_frame(_outputs.read_table(args.identity))
    options: dict[str, Any] = {
        "window": args.window,
        "same_topic": args.same_topic,
        "policy": _policy(args),
        "identity": identity,
    }
    names = [m.name for m in csm.metrics.builtins() if m.level == "issue" and not m.keys]
    with _steps(args) as steps:
        with steps.step("linking cases into issues"):
            result, matrix = pl.collect_all(
                [
                    csm.journey_metrics(log, names, **options),
                    csm.channel_switch_matrix(log, **options),
                ]
            )
        if args.issues:
            with steps.step("writing the issues"):
                issues = csm.journeys(
                    log,
                    window=args.window,
                    same_topic=args.same_topic,
                    policy=options["policy"],
                    identity=identity,
                ).collect()
                _outputs.write_frame(issues, args.issues, "parquet")
            sys.stderr.write(f"csmetrics: {issues.height:,} issues written to {args.issues}\n")
        if args.format == "table":
            _emit(_journey_text(result, matrix), args.output)
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


_OUTPUTS = {"-o/--output": "output", "--rejects": "rejects", "--issues": "issues"}

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
    # run as a program (argv None), timings count from the process start: the interpreter
    # and the imports are part of what the user waits for
    started = since_process_start() if argv is None else 0.0
    args = _parser().parse_args(argv)
    args._started = started
    try:
        _outputs.FORMULA_ESCAPE[0] = not getattr(args, "csv_raw", False)
        _outputs.check_outputs(  # before any work: folders exist, no input is overwritten
            {o: getattr(args, a, None) for o, a in _OUTPUTS.items()},
            [getattr(args, a, None) for a in ("events", "identity", "calendar", "sla")],
        )
        return _COMMANDS[args.command](args)
    except CsMetricsError as exc:
        if args.debug:
            raise
        sys.stderr.write(wrap(f"csmetrics: error: {check.user_error(exc)}", WIDTH) + "\n")
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
