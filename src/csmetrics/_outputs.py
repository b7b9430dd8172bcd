"""Writing the command line's outputs safely: never over an input, never a formula, any shape.

- :func:`check_outputs` runs before any computation: every output's folder must exist, and
  no output may resolve to an input file (``validate in.csv --rejects in.csv`` would destroy
  the input) or to another output.
- :func:`write_frame` writes a table by format, or by the path's suffix (``.csv``, ``.json``,
  ``.ndjson``, ``.parquet``). CSV cannot hold nested values or durations: lists and structs
  are written as JSON text, durations as seconds (the column gains a ``_seconds`` suffix).
- CSV text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``,
  ``-``, ``@``, tab or carriage return) are prefixed with ``'``, as OWASP recommends;
  ``formula_escape=False`` (``--csv-raw``) writes them verbatim for machine consumers.
"""

from __future__ import annotations

import glob as _glob
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import polars as pl

from csmetrics.exceptions import PolicyError, SchemaError

__all__ = [
    "FORMULA_START",
    "check_outputs",
    "for_csv",
    "input_files",
    "neutralise_formulas",
    "read_table",
    "write_frame",
]

FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)."""

_BY_SUFFIX: Final = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def input_files(spec: str | os.PathLike[str] | None) -> list[Path]:
    """The existing files an input argument names: the file, a glob's matches, a folder's."""
    if spec is None:
        return []
    path = os.fspath(spec)
    if os.path.isdir(path):
        pattern = os.path.join(_glob.escape(path), "**", "*")
        return [Path(p) for p in _glob.glob(pattern, recursive=True) if os.path.isfile(p)]
    if os.path.exists(path):
        return [Path(path)]
    return [Path(p) for p in _glob.glob(path, recursive=True) if os.path.isfile(p)]


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and a.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_outputs(outputs: Mapping[str, str | None], inputs: Iterable[str | None]) -> None:
    """Refuse, before any work, outputs that cannot be written or would overwrite an input.

    Parameters
    ----------
    outputs
        Option name (``-o``, ``--rejects`` …) to the path given, or ``None``.
    inputs
        The input arguments (paths, globs or folders) the command reads.

    Raises
    ------
    PolicyError
        An output's folder does not exist, the output is a folder, it resolves to an input
        file, or two outputs are the same file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "in.csv").write_text("a\\n1\\n")
    >>> check_outputs({"--rejects": str(d / "in.csv")}, [str(d / "in.csv")])
    Traceback (most recent call last):
    ...
    csmetrics.exceptions.PolicyError: --rejects ... is the input file ...
    """
    files = [f for spec in inputs for f in input_files(spec)]
    seen: dict[Path, str] = {}
    for option, value in outputs.items():
        if not value:
            continue
        path = Path(value)
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise PolicyError(
                f"{option} {value!r}: the folder {str(folder)!r} does not exist; create it "
                "first (nothing was computed)"
            )
        if path.is_dir():
            raise PolicyError(f"{option} {value!r} is a folder; name a file to write")
        for file in files:
            if _same(path, file):
                raise PolicyError(
                    f"{option} {value!r} is the input file {str(file)!r}: writing it would "
                    "destroy the input; choose another path"
                )
        for other_path, other in seen.items():
            if _same(path, other_path):
                raise PolicyError(f"{option} and {other} both write {value!r}; use two paths")
        seen[path] = option


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix ``'`` to text cells a spreadsheet would run as a formula (OWASP).

    Examples
    --------
    >>> import polars as pl
    >>> neutralise_formulas(pl.DataFrame({"team": ["=1+1", "ops", "@SUM(A1)"]}))["team"].to_list()
    ["'=1+1", 'ops', "'@SUM(A1)"]
    """
    text = [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)
    ]
    if not text:
        return frame
    pattern = "^[" + "".join("\\" + c if c in "-+" else c for c in FORMULA_START) + "]"
    return frame.with_columns(
        pl.when(pl.col(n).cast(pl.String).str.contains(pattern))
        .then(pl.lit("'") + pl.col(n).cast(pl.String))
        .otherwise(pl.col(n).cast(pl.String))
        .alias(n)
        for n in text
    )


def for_csv(frame: pl.DataFrame, *, formula_escape: bool = True) -> pl.DataFrame:
    """``frame`` in a shape CSV can hold: durations as seconds, nested values as JSON text.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> out = for_csv(pl.DataFrame({"wait": [dt.timedelta(minutes=1, microseconds=5)],
    ...     "tags": [["a", "b"]]}))
    >>> out.columns, out.row(0)
    (['wait_seconds', 'tags'], (60.000005, '["a","b"]'))
    """
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Duration):
            exprs.append((col.dt.total_microseconds() / 1e6).alias(f"{name}_seconds"))
        elif dtype.is_nested():
            encoded = pl.struct(col.alias("v")).struct.json_encode()
            exprs.append(encoded.str.slice(5, encoded.str.len_chars() - 6).alias(name))
        elif dtype == pl.Object:  # rare (pandas objects): shown as text
            exprs.append(pl.lit(pl.Series(name, [str(v) for v in frame[name]], pl.String)))
        else:
            exprs.append(col)
    out = frame.select(exprs)
    return neutralise_formulas(out) if formula_escape else out


FORMULA_ESCAPE = [True]
"""The command line's ``--csv-raw`` sets ``FORMULA_ESCAPE[0] = False`` for the whole run."""


def write_frame(
    frame: pl.DataFrame,
    output: str | None,
    fmt: str | None = None,
    *,
    formula_escape: bool | None = None,
) -> None:
    """Write ``frame`` as ``fmt`` (``csv``, ``json``, ``ndjson``, ``parquet``), by default by
    the suffix of ``output`` (CSV when it says nothing); ``None`` writes text to stdout.

    ``formula_escape=None`` follows :data:`FORMULA_ESCAPE` (on unless ``--csv-raw``)."""
    if formula_escape is None:
        formula_escape = FORMULA_ESCAPE[0]
    if fmt is None:
        fmt = _BY_SUFFIX.get(Path(output).suffix.lower(), "csv") if output else "csv"
    if fmt == "parquet":
        if not output:
            raise PolicyError("--format parquet needs -o/--output FILE")
        frame.write_parquet(output)
        return
    if fmt == "csv":
        text = for_csv(frame, formula_escape=formula_escape).write_csv()
    elif fmt == "json":
        text = frame.write_json()
    elif fmt == "ndjson":
        text = frame.write_ndjson()
    else:
        raise PolicyError(f"unknown output format {fmt!r}; use csv, json, ndjson or parquet")
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def read_table(path: str) -> pl.DataFrame:
    """A small side table (an identity map …) read by suffix; CSV values are kept as text.

    Raises
    ------
    SchemaError
        The file cannot be read; the message names it.
    """
    fmt = _BY_SUFFIX.get(Path(path).suffix.lower(), "csv")
    try:
        if fmt == "parquet":
            return pl.read_parquet(path)
        if fmt == "json":
            return pl.read_json(path)
        if fmt == "ndjson":
            return pl.read_ndjson(path)
        return pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise SchemaError(
            f"bad_type: cannot read {path!r} as {fmt}: {str(exc).splitlines()[0]}; fix: check "
            "the path and that the file is complete.",
            reason="bad_type",
        ) from exc
