"""Whole-process measurement shared by the benchmark scripts: one fresh child process per
measurement, its CPU seconds from the kernel's accounting (``wait4``) and its peak resident
memory as the child reports it (``VmHWM``, which restarts at exec)."""

from __future__ import annotations

import json
import os
import subprocess
import time


def peak_mib() -> float:
    """Peak resident memory of this process in MiB (Linux only)."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc/self/status (Linux only)")


def report_peak() -> None:
    """Print this process's peak memory as the last line, for :func:`measure_child`."""
    print(json.dumps({"peak": peak_mib()}))


def measure_child(command: list[str], label: str) -> dict[str, float]:
    """Run ``command`` (a child that ends with :func:`report_peak`): wall seconds, CPU
    seconds (user + system, all threads) and peak MiB."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{label} failed with status {status}: {' '.join(command)}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak": json.loads(out.strip().splitlines()[-1])["peak"],
    }
