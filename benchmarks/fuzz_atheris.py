"""Coverage-guided fuzzing of the readers and adapters with atheris, for a bounded time.

Not part of pytest (tests/test_fuzz.py runs the hypothesis fuzzers there). Usage::

    pip install atheris                       # wheels for CPython 3.11 on Linux x86-64
    python benchmarks/fuzz_atheris.py --seconds 60
    python benchmarks/fuzz_atheris.py --seconds 600 --allow-panics corpus/

The first byte of each input picks a target (``scan_events`` on a CSV,
NDJSON, JSON, Parquet or Arrow file, ``EventLog.from_frame`` on a frame read from CSV, or one
of the built-in adapters on a file of its format) and the file's bytes. The target is read,
quarantined, collected and turned into a case table; the only exceptions allowed out are
``csmetrics.CsMetricsError`` subclasses, so anything else (a Polars error, a KeyError, a
``PanicException`` from Rust) is reported by atheris as a crash, with the input saved as
``crash-<sha1>`` in the working directory. ``--allow-panics`` ignores Polars panics (a known
issue on corrupted Parquet/Arrow files, see tests/test_fuzz.py). An abort of the process
(Polars can abort on a corrupted binary file asking for a huge allocation) ends the run and
is reported by libFuzzer as a deadly signal.

Exit code: 0 when the time ran out without a crash.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

try:
    import atheris
except ImportError:  # pragma: no cover - an optional tool
    sys.exit("atheris is not installed: pip install atheris")

with atheris.instrument_imports(include=["csmetrics"]):
    import polars as pl

    import csmetrics as csm
    from csmetrics.engines import collect
    from csmetrics.exceptions import CsMetricsError
    from csmetrics.quarantine import quarantine

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
TARGETS: list[tuple[str, str, dict[str, object]]] = [
    # (adapter or "canonical"/"frame", file suffix, adapter options)
    ("canonical", ".csv", {}),
    ("canonical", ".ndjson", {}),
    ("canonical", ".json", {}),
    ("canonical", ".parquet", {}),
    ("canonical", ".arrow", {}),
    ("frame", ".csv", {}),
    ("mapping", ".csv", {"config": DATA / "adapters" / "tickets.toml"}),
    ("twitter", ".csv", {}),
    ("twitter", ".json", {}),
    ("servicenow", ".csv", {}),
    ("xes", ".xes", {}),
    ("xes", ".csv", {}),
    ("zendesk", ".json", {}),
    ("zendesk", ".ndjson", {}),
    ("intercom", ".json", {}),
    ("intercom", ".ndjson", {}),
]
FOLDER = Path(tempfile.mkdtemp(prefix="csm-atheris-"))
OPTIONS = {"allow_panics": False}


def _read(target: str, path: Path, options: dict[str, object]) -> csm.EventLog:
    if target == "canonical":
        return csm.scan_events(path, tz="UTC")
    if target == "frame":
        try:
            frame = pl.read_csv(path, infer_schema_length=5)
        except (pl.exceptions.PolarsError, OSError, ValueError):
            return csm.testing.log_from_rows([("09:00", "case_created", "customer")])
        return csm.EventLog.from_frame(frame, tz="UTC")
    return csm.scan_events(path, adapter=target, tz="UTC", options=options)


def one_input(data: bytes) -> None:
    if not data:
        return
    target, suffix, options = TARGETS[data[0] % len(TARGETS)]
    path = FOLDER / f"input{suffix}"
    path.write_bytes(data[1:])
    try:
        log = _read(target, path, options)
        checked, rejected, n_input = quarantine(log)
        n_good = checked.collect().height
        n_rejected = collect(rejected).height
        collect(csm.case_table(checked))
    except CsMetricsError:
        return
    except pl.exceptions.PanicException:
        if OPTIONS["allow_panics"]:
            return
        raise
    if n_good + n_rejected != n_input:
        raise AssertionError(f"{n_good} good + {n_rejected} rejected != {n_input} rows in")


def seeds(corpus: Path) -> None:
    """Write the test files of every target into ``corpus`` (prefixed by the target byte)."""
    corpus.mkdir(parents=True, exist_ok=True)
    files = [p for p in DATA.rglob("*") if p.is_file() and p.suffix in {s for _, s, _ in TARGETS}]
    for i, (_, suffix, _) in enumerate(TARGETS):
        for path in (p for p in files if p.suffix == suffix):
            # the first byte picks the target
            (corpus / f"{i:02d}-{path.parent.name}-{path.name}").write_bytes(
                bytes([i]) + path.read_bytes()
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="total fuzzing time")
    parser.add_argument("--allow-panics", action="store_true", help="ignore Polars panics")
    parser.add_argument(
        "--exclude", nargs="*", default=[], help="targets (adapter names) to leave out"
    )
    parser.add_argument("corpus", nargs="?", default=None, help="corpus folder (seeded)")
    args, rest = parser.parse_known_args()
    TARGETS[:] = [t for t in TARGETS if t[0] not in args.exclude]
    OPTIONS["allow_panics"] = args.allow_panics
    corpus = Path(args.corpus) if args.corpus else FOLDER / "corpus"
    seeds(corpus)
    argv = [sys.argv[0], f"-max_total_time={args.seconds}", "-rss_limit_mb=4096", *rest]
    atheris.Setup([*argv, str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
