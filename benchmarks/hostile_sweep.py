"""The hostile-input sweep of issue 19: run every input, count those handled well.

Usage::

    python benchmarks/hostile_sweep.py            # prints one line per input, then the count
    python benchmarks/hostile_sweep.py --quiet    # only "N inputs, N handled"

Every input is written for this sweep, in a temporary folder (nothing is read from outside the
repository). An input is *handled* when it gives the expected outcome within 20 seconds:

- ``error``: a :class:`csmetrics.CsMetricsError` (never a raw Polars, pyarrow or Python error)
  whose message holds the expected words (the file, column or record, and the fix);
- ``result``: a result that passes its check (a correct quarantine: good + rejected rows equal
  the input lines, each reject with its reason; or the right figure);
- ``warning``: a :class:`csmetrics.CsMetricsWarning` with the expected counts;
- ``cli``: the command line's exit code, its message and the files it leaves (an input is
  never overwritten).

Anything else (a raw exception, a wrong or empty result, a hang) is *not handled* and listed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import io
import json
import pickle
import signal
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

import csmetrics as csm
from csmetrics.adapters._base import as_lazy_table
from csmetrics.adapters.xes import read_xes_table
from csmetrics.cli import main as cli

HEADER = "case_id,customer_id,channel,ts,event_type,actor"
LIMIT_S = 20

Check = Callable[[Path], bool]
CASES: list[tuple[str, Check]] = []


def case(name: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        CASES.append((name, check))
        return check

    return register


def rows(n: int, start: int = 1) -> list[str]:
    out = []
    for i in range(n):
        kind = "case_created,customer" if i % 2 == 0 else "message,agent"
        out.append(f"{start + i // 2},7,email,2024-03-01T09:{i % 60:02d}:00Z,{kind}")
    return out


def text(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.write_text("\n".join(lines) + end, encoding="utf-8")
    return path


def frame(n_cases: int = 3) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case_id": [c for c in range(1, n_cases + 1) for _ in range(2)],
            "customer_id": [7] * (2 * n_cases),
            "channel": ["email"] * (2 * n_cases),
            "ts": [
                dt.datetime(2024, 3, 1, 9, m, tzinfo=dt.UTC)
                for c in range(n_cases)
                for m in (c * 10, c * 10 + 5)
            ],
            "event_type": ["case_created", "message"] * n_cases,
            "actor": ["customer", "agent"] * n_cases,
        }
    )


def raises(call: Callable[[], object], *words: str) -> bool:
    """A CsMetricsError whose message holds every word; any other outcome fails."""
    try:
        call()
    except csm.CsMetricsError as exc:
        message = str(exc)
        missing = [w for w in words if w not in message]
        if missing:
            raise AssertionError(f"message lacks {missing}: {message[:200]}") from exc
        return True
    return False


def warns(call: Callable[[], object], *words: str) -> bool:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    messages = [str(w.message) for w in caught if issubclass(w.category, csm.CsMetricsWarning)]
    return any(all(word in m for word in words) for m in messages)


def run_cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli(argv)
    return code, out.getvalue() + err.getvalue()


def split_counts(source: object, **kwargs: Any) -> tuple[int, list[str]]:
    good, rejected = csm.scan_events(source, **kwargs).validate("split")
    return good.collect().height, sorted(rejected.collect()["reason"].to_list())


# -- reading: silently wrong before -------------------------------------------------------------


@case("collect() on naive time stamps raises")
def _(d: Path) -> bool:
    path = text(d / "naive.csv", [HEADER, "1,7,email,2024-03-01 09:00,case_created,agent"])
    return raises(lambda: csm.scan_events(path).collect(), "naive_timestamp", "naive.csv", "tz=")


@case("collect() with an invalid row raises with counts")
def _(d: Path) -> bool:
    path = text(d / "bad.csv", [HEADER, *rows(2), "2,7,email,soon,message,agent"])
    return raises(lambda: csm.scan_events(path).collect(), "bad_type", "1 row(s)", "quarantine")


@case("a RecordBatchReader is read once (compute)")
def _(d: Path) -> bool:
    value = csm.compute(frame(3).to_arrow().to_reader(), "volume").collect()["value"].item()
    return bool(value == 3)


@case("a RecordBatchReader is read once (case_table)")
def _(d: Path) -> bool:
    return csm.case_table(frame(2).to_arrow().to_reader()).collect().height == 2


for _suffix in ("csv", "ndjson", "parquet", "ipc"):

    @case(f"an existing ev[1].{_suffix} is that file, not ev1.{_suffix}")
    def _(d: Path, suffix: str = _suffix) -> bool:
        writers = {
            "csv": pl.DataFrame.write_csv,
            "ndjson": pl.DataFrame.write_ndjson,
            "parquet": pl.DataFrame.write_parquet,
            "ipc": pl.DataFrame.write_ipc,
        }
        writers[suffix](frame(1), d / f"ev[1].{suffix}")
        writers[suffix](frame(2), d / f"ev1.{suffix}")
        fmt = "ipc" if suffix == "ipc" else None
        return csm.scan_events(d / f"ev[1].{suffix}", format=fmt).collect().height == 2


@case("an existing only[2].csv alone is read")
def _(d: Path) -> bool:
    frame(2).write_csv(d / "only[2].csv")
    return csm.scan_events(d / "only[2].csv").collect().height == 4


@case("ids 007 and +7 after the inference sample are not case 7")
def _(d: Path) -> bool:
    lines = [HEADER, *rows(10_002), "007,7,email,2024-03-01T10:00:00Z,case_created,customer"]
    lines.append("+7,7,email,2024-03-01T10:01:00Z,case_created,customer")
    return split_counts(text(d / "ids.csv", lines)) == (10_002, ["bad_type", "bad_type"])


for _column, _event, _value in (
    ("comp_amount", "comp_granted", "4.7e12"),  # fits; two of them are summed exactly
    ("comp_amount", "comp_granted", "9.3e12"),
    ("handle_seconds", "message", "5e12"),
    ("handle_seconds", "message", "1e13"),
    ("csat_score", "message", "1e19"),
):

    @case(f"{_column} = {_value}: no wrapped sum, no raw crash")
    def _(d: Path, column: str = _column, event: str = _event, value: str = _value) -> bool:
        lines = [f"{HEADER},{column}", "1,7,email,2024-03-01T09:00:00Z,case_created,customer,"]
        lines += [f"1,7,email,2024-03-01T09:0{i}:00Z,{event},agent,{value}" for i in (5, 6)]
        log = csm.scan_events(text(d / "v.csv", lines))
        if abs(float(value)) * 1e6 >= 2**63:
            return raises(lambda: csm.case_table(log).collect(), "value_out_of_range", column)
        table = csm.case_table(log).collect()
        if column == "comp_amount":  # 4.7e12 twice: 9.4e12, not a wrapped negative
            return bool(table["comp_total"].item() == 2 * float(value))
        # 5e12 s twice is past a duration's range (about 292,000 years): null, never negative
        handle = table["handle_time"].item()
        return handle is None or bool(handle >= dt.timedelta(0))


@case("ts_format with %Z is refused (EST and CET are not UTC)")
def _(d: Path) -> bool:
    path = text(d / "z.csv", [HEADER, "1,7,email,2024-03-01 09:00 EST,message,agent"])
    return raises(lambda: csm.scan_events(path, ts_format="%Y-%m-%d %H:%M %Z"), "%Z", "%z", "tz=")


@case("a repeated column name is refused, naming it and the file")
def _(d: Path) -> bool:
    lines = [f"{HEADER},channel", "1,7,email,2024-03-01T09:00:00Z,message,agent,chat"]
    return raises(lambda: csm.scan_events(text(d / "dup.csv", lines)), "'channel'", "dup.csv")


@case("an NDJSON glob reads a key present only in a later file")
def _(d: Path) -> bool:
    base = {"case_id": 1, "customer_id": 7, "channel": "email", "actor": "agent"}
    first = {**base, "ts": "2024-03-01T09:00:00Z", "event_type": "case_created"}
    later = {**base, "ts": "2024-03-01T09:05:00Z", "event_type": "comp_granted"}
    (d / "a.ndjson").write_text(json.dumps(first) + "\n")
    (d / "b.ndjson").write_text(json.dumps({**later, "comp_amount": 2.5}) + "\n")
    got = csm.scan_events(str(d / "*.ndjson")).collect().sort("ts")["comp_amount"].to_list()
    return got == [None, 2.5]


# -- raw crashes and hangs ----------------------------------------------------------------------


@case("tz='localtime' is named")
def _(d: Path) -> bool:
    path = text(d / "n.csv", [HEADER, "1,7,email,2024-03-01 09:00,case_created,agent"])
    return raises(lambda: csm.scan_events(path, tz="localtime"), "'localtime'")


@case("Policy(timezone='localtime') is named")
def _(d: Path) -> bool:
    return raises(lambda: csm.Policy(timezone="localtime"), "'localtime'")


@case("a tweet reusing its thread root's id quarantines that thread only")
def _(d: Path) -> bool:
    def tweet(tid: str, author: str, inbound: bool, minute: int, parent: str | None) -> dict:
        return {
            "tweet_id": tid, "author_id": author, "inbound": inbound,
            "created_at": f"Tue Oct 31 10:{minute:02d}:00 +0000 2017", "text": "@brand hi",
            "response_tweet_id": None, "in_response_to_tweet_id": parent,
        }  # fmt: skip

    tweets = [tweet("1", "c1", True, 0, None), tweet("2", "brand", False, 5, "1"),
              tweet("20", "c3", True, 10, "22"), tweet("21", "brand", False, 15, "20"),
              tweet("22", "c3", True, 20, "21")]  # fmt: skip
    pl.DataFrame(tweets).write_csv(d / "twcs.csv")
    log = csm.scan_events(d / "twcs.csv", adapter="twitter")
    good = log.collect(on_invalid="quarantine").filter(pl.col("event_type") == "message")
    assert log.rejected is not None
    rejected = log.rejected.collect()["reason"].to_list()
    return good.height == 2 and rejected == ["reply_cycle"] * 3


@case("ragged CSV rows in quarantine mode are rejects with a reason")
def _(d: Path) -> bool:
    lines = [HEADER, *rows(2), "5,7,email,2024-03-01T09:00:00Z,case_created,agent,extra"]
    return split_counts(text(d / "r.csv", lines)) == (2, ["ragged_row"])


@case("journeys(window='99999999999d') is a PolicyError")
def _(d: Path) -> bool:
    return raises(lambda: csm.journeys(frame(2), window="99999999999d"), "100 years")


@case("journeys(window=timedelta.max) is a PolicyError")
def _(d: Path) -> bool:
    return raises(lambda: csm.journeys(frame(2), window=dt.timedelta.max), "100 years")


@case("Policy pickles")
def _(d: Path) -> bool:
    policy = csm.Policy.preset("zendesk", timezone="Europe/Paris")
    return bool(pickle.loads(pickle.dumps(policy)) == policy)


@case("SlaPolicy pickles")
def _(d: Path) -> bool:
    toml = d / "sla.toml"
    toml.write_text('[[rule]]\nname = "all"\nfirst_reply = "4h"\n')
    sla = csm.SlaPolicy.from_toml(toml)
    return bool(pickle.loads(pickle.dumps(sla)) == sla)


@case("Report pickles")
def _(d: Path) -> bool:
    report = csm.Report(frame(3), period=None)
    return bool(pickle.loads(pickle.dumps(report)).headline.frame.equals(report.headline.frame))


@case("a 1.7 KB .json nested 800 deep is refused at once")
def _(d: Path) -> bool:
    (d / "deep.json").write_text("[" * 800 + "]" * 800)
    return raises(lambda: csm.scan_events(d / "deep.json"), "nested 800 levels", "deep.json")


@case("an .ndjson record nested 800 deep is refused at once")
def _(d: Path) -> bool:
    (d / "deep.ndjson").write_text('{"a": ' + "[" * 800 + "]" * 800 + "}\n")
    return raises(lambda: csm.scan_events(d / "deep.ndjson"), "nested 801 levels")


@case("an adapter's .json nested 5000 deep is refused at once")
def _(d: Path) -> bool:
    (d / "deep.json").write_text("[" * 5000 + "]" * 5000)
    return raises(lambda: as_lazy_table(d / "deep.json"), "nested more than 64")


for _size in (2, 25):

    @case(f"an XES attribute of {_size} MiB is refused while streaming")
    def _(d: Path, size: int = _size) -> bool:
        value = "x" * (size << 20)
        (d / "a.xes").write_text(
            f'<log><trace><event><string key="concept:name" value="{value}"/></event></trace></log>'
        )
        return raises(lambda: read_xes_table(d / "a.xes"), "longer than 1,048,576 bytes")


@case("an XES entity bomb is refused")
def _(d: Path) -> bool:
    bomb = '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    bomb += "".join(
        f'<!ENTITY a{i} "{"&a;" * 10 if i == 0 else f"&a{i - 1};" * 10}">' for i in range(8)
    )
    bomb += ']><log><trace><event><string key="k" value="&a7;"/></event></trace></log>'
    (d / "bomb.xes").write_text(bomb)
    return raises(lambda: read_xes_table(d / "bomb.xes"), "bomb.xes")


# -- poor before --------------------------------------------------------------------------------


for _end in ("\n\n", "\r\n\r\n", "\n\n\n\n"):

    @case(f"trailing blank lines {_end!r} do not refuse the file in raise mode")
    def _(d: Path, end: str = _end) -> bool:
        path = text(d / "t.csv", [HEADER, *rows(2)], end=end)
        return csm.scan_events(path).validate("raise").collect().height == 2


@case("a DST-gap time says the local time does not exist")
def _(d: Path) -> bool:
    path = text(d / "gap.csv", [HEADER, "1,7,email,2024-03-31 02:30,case_created,agent"])
    log = csm.scan_events(path, tz="Europe/Paris")
    return raises(log.collect, "do not exist in Europe/Paris")


@case("a Parquet glob whose files disagree names both files")
def _(d: Path) -> bool:
    frame(1).with_columns(pl.lit("a").alias("topic")).write_parquet(d / "a.parquet")
    frame(1).with_columns(pl.lit(["x"]).alias("topic")).write_parquet(d / "b.parquet")
    return raises(lambda: csm.scan_events(str(d / "*.parquet")), "a.parquet", "b.parquet")


@case("a gzip file named .csv is said to be compressed")
def _(d: Path) -> bool:
    (d / "g.csv").write_bytes(gzip.compress(f"{HEADER}\n{rows(1)[0]}\n".encode()))
    return raises(lambda: csm.scan_events(d / "g.csv"), "gzip-compressed", "decompress")


@case("a .csv.gz path is said to be compressed")
def _(d: Path) -> bool:
    (d / "g.csv.gz").write_bytes(gzip.compress(f"{HEADER}\n".encode()))
    return raises(lambda: csm.scan_events(d / "g.csv.gz"), "compressed")


def _odd_log() -> csm.EventLog:
    base = frame(4).with_columns(pl.lit(None, pl.Int64).alias("merged_into"))
    odd = pl.DataFrame(
        {
            "case_id": [1, 2, 3, 4],
            "customer_id": [8, 7, 7, 7],
            "channel": ["email"] * 4,
            "ts": [dt.datetime(2024, 3, 1, 10, m, tzinfo=dt.UTC) for m in range(4)],
            "event_type": ["message", "merged", "merged", "merged"],
            "actor": ["customer", "agent", "agent", "agent"],
            "merged_into": [None, 2, 4, 3],
        }
    )
    return csm.EventLog.from_frame(pl.concat([base, odd]))


@case("a case with two customer_ids is warned about")
def _(d: Path) -> bool:
    return warns(_odd_log().collect, "1 case(s) name more than one customer_id")


@case("a self-merge is warned about")
def _(d: Path) -> bool:
    return warns(_odd_log().collect, "1 merged event(s) merge a case into itself")


@case("a merge loop is warned about")
def _(d: Path) -> bool:
    return warns(_odd_log().collect, "2 case(s) are merged in a loop")


@case("XES events outside any trace are counted, not dropped silently")
def _(d: Path) -> bool:
    (d / "o.xes").write_text(
        '<log><event/><trace><string key="concept:name" value="1"/><event>'
        '<string key="concept:name" value="Closed"/></event></trace></log>'
    )
    return warns(lambda: read_xes_table(d / "o.xes"), "1 <event> element(s) outside")


# -- the corpus kept handling well --------------------------------------------------------------


@case("an empty file is named")
def _(d: Path) -> bool:
    (d / "e.csv").write_bytes(b"")
    return raises(lambda: csm.scan_events(d / "e.csv"), "empty", "e.csv")


@case("latin-1 bytes are named with the fix")
def _(d: Path) -> bool:
    (d / "l.csv").write_bytes(f"{HEADER},topic\n{rows(1)[0]},caf\xe9\n".encode("latin-1"))
    return raises(lambda: csm.scan_events(d / "l.csv"), "UTF-8", "utf8-lossy")


@case("a semicolon CSV names the separator")
def _(d: Path) -> bool:
    text(d / "s.csv", [HEADER.replace(",", ";"), rows(1)[0].replace(",", ";")])
    return raises(lambda: csm.scan_events(d / "s.csv"), "separator=';'")


@case("a truncated Parquet file is named")
def _(d: Path) -> bool:
    frame(2).write_parquet(d / "t.parquet")
    data = (d / "t.parquet").read_bytes()
    (d / "t.parquet").write_bytes(data[: len(data) // 2])
    return raises(lambda: csm.scan_events(d / "t.parquet"), "t.parquet")


@case("a header-only CSV is a valid empty log")
def _(d: Path) -> bool:
    return csm.scan_events(text(d / "h.csv", [HEADER])).collect().height == 0


@case("random bytes named .csv give a clear error")
def _(d: Path) -> bool:
    (d / "x.csv").write_bytes(bytes(range(256)) * 4)
    return raises(lambda: csm.scan_events(d / "x.csv"), "x.csv")


@case("markup in group names is escaped in the HTML report")
def _(d: Path) -> bool:
    log = frame(2).with_columns(pl.lit("<script>alert(1)</script>").alias("channel"))
    page = csm.Report(log, by="channel", period=None).to_html()
    return "<script>alert(1)</script>" not in page


# -- the command line ---------------------------------------------------------------------------


def _input(d: Path) -> Path:
    frame(2).write_csv(d / "in.csv")
    return d / "in.csv"


for _argv in (
    ["validate", "{i}", "--rejects", "{i}"],
    ["validate", "{g}", "--rejects", "{i}"],
    ["report", "{i}", "--format", "csv", "-o", "{i}"],
    ["report", "{i}", "--on-invalid", "quarantine", "--rejects", "{i}"],
    ["cases", "{i}", "--format", "csv", "-o", "{i}"],
    ["journeys", "{i}", "--issues", "{i}"],
    ["journeys", "{i}", "-o", "{i}"],
):

    @case(f"csmetrics {' '.join(_argv)} refuses to overwrite its input")
    def _(d: Path, argv: list[str] = _argv) -> bool:
        path = _input(d)
        before = path.read_bytes()
        code, out = run_cli([a.format(i=path, g=d / "*.csv") for a in argv])
        return code == 1 and "is the input file" in out and path.read_bytes() == before


@case("-o into a missing folder fails before any work")
def _(d: Path) -> bool:
    code, out = run_cli(["cases", str(_input(d)), "-o", str(d / "no" / "c.parquet")])
    return code == 1 and "nothing was computed" in out


@case("CSV formula injection from a group value is neutralised")
def _(d: Path) -> bool:
    frame(2).with_columns(pl.lit("=1+1").alias("team")).write_parquet(d / "e.parquet")
    argv = ["report", str(d / "e.parquet"), "--by", "team", "--format", "csv", "-o"]
    code, _ = run_cli([*argv, str(d / "r.csv")])
    return code == 0 and pl.read_csv(d / "r.csv", infer_schema=False)["team"][0] == "'=1+1"


@case("--csv-raw writes cells verbatim")
def _(d: Path) -> bool:
    frame(2).with_columns(pl.lit("=1+1").alias("team")).write_parquet(d / "e.parquet")
    argv = ["report", str(d / "e.parquet"), "--by", "team", "--format", "csv", "--csv-raw"]
    code, _ = run_cli([*argv, "-o", str(d / "r.csv")])
    return code == 0 and pl.read_csv(d / "r.csv", infer_schema=False)["team"][0] == "=1+1"


@case("--rejects r.json writes JSON")
def _(d: Path) -> bool:
    path = text(d / "b.csv", [HEADER, *rows(2), "2,7,email,soon,message,agent"])
    code, _ = run_cli(["validate", str(path), "--rejects", str(d / "r.json")])
    return code == 1 and json.loads((d / "r.json").read_text())[0]["reason"] == "bad_type"


@case("--rejects r.csv with a nested column")
def _(d: Path) -> bool:
    bad = frame(1).with_columns(pl.Series("tags", [["a"], ["b"]]), pl.lit("x").alias("actor"))
    bad.write_parquet(d / "n.parquet")
    code, _ = run_cli(["validate", str(d / "n.parquet"), "--rejects", str(d / "r.csv")])
    return code == 1 and pl.read_csv(d / "r.csv")["tags"].to_list() == ['["a"]', '["b"]']


@case("cases --format csv writes durations as seconds")
def _(d: Path) -> bool:
    code, _out = run_cli(["cases", str(_input(d)), "--format", "csv", "-o", str(d / "c.csv")])
    table = pl.read_csv(d / "c.csv")
    return code == 0 and table["first_response_time_seconds"].to_list() == [300.0, 300.0]


@case("journeys --identity ids.csv with the layout its help describes")
def _(d: Path) -> bool:
    text(d / "ids.csv", ["channel,handle,customer_id", "email,7,C1"])
    code, out = run_cli(["journeys", str(_input(d)), "--identity", str(d / "ids.csv")])
    return code == 0 and "channel_switch_rate" in out


@case("a glob of CSV files with different headers, ragged and blank lines conserves rows")
def _(d: Path) -> bool:
    text(d / "p1.csv", [HEADER, *rows(4)], end="\n\n")
    reordered = "actor,event_type,ts,channel,customer_id,case_id,topic"
    text(d / "p2.csv", [reordered, "agent,message,2024-03-01T10:00:00Z,email,7,9,billing",
                        "agent,message,2024-03-01T10:01:00Z,email,7,9,billing,extra"])  # fmt: skip
    good, reasons = split_counts(str(d / "p*.csv"))
    return good + len(reasons) == 6 and reasons == ["ragged_row"]


def _run_one(check: Check) -> tuple[bool, str]:
    def timeout(signum: int, frame: object) -> None:
        raise TimeoutError(f"no answer in {LIMIT_S} s")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(LIMIT_S)
    try:
        with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ok = check(Path(folder))
        return ok, "" if ok else "wrong result"
    except Exception as exc:  # a raw crash, a hang or a message missing its words
        return False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def sweep(*, quiet: bool = False) -> tuple[int, int, list[str]]:
    """Run every input; return (inputs, handled, descriptions of the others)."""
    failures = []
    for name, check in CASES:
        ok, why = _run_one(check)
        if not quiet:
            print(f"{'ok ' if ok else 'BAD'} {name}{'' if ok else ': ' + why}")
        if not ok:
            failures.append(f"{name}: {why}")
    return len(CASES), len(CASES) - len(failures), failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="print only the count")
    args = parser.parse_args(argv)
    n, handled, _ = sweep(quiet=args.quiet)
    print(f"{n} inputs, {handled} handled")
    return 0 if n == handled else 1


if __name__ == "__main__":
    sys.exit(main())
