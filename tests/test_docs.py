"""The documentation: generated metric pages, worked examples, links to tests, runnable pages.

The docs generator (``docs/_ext/csm_docs.py``) is plain Python, so most checks run without
Sphinx. The full ``sphinx-build -W`` runs only when ``CSM_DOCS_BUILD=1`` (CI runs it directly).
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import csmetrics as csm

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("csm_docs", DOCS / "_ext" / "csm_docs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["csm_docs"] = module  # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def generated() -> object:
    """Every generated file, with the worked examples run (a few seconds)."""
    return gen.generate(DOCS, gen.DEFAULT_CASES_FILE, write=False, run=True)


def _metric_pages(files: dict[Path, str]) -> set[str]:
    return {p.stem for p in files if p.parent.name == "metrics" and p.stem != "index"}


def test_every_metric_name_has_a_page(generated: object) -> None:
    pages = _metric_pages(generated.files)  # type: ignore[attr-defined]
    builtins = {m.name for m in csm.metrics.builtins()}
    assert builtins <= pages
    # names() also lists plugins and run-time registrations: their docs are their own
    undocumented = set(csm.metrics.names()) - pages
    assert not undocumented & builtins


def test_docs_anchor_of_every_builtin_is_its_page(generated: object) -> None:
    files = generated.files  # type: ignore[attr-defined]
    for metric in csm.metrics.builtins():
        assert DOCS / f"{metric.docs}.md" in files, metric.name


def test_metrics_index_lists_every_page(generated: object) -> None:
    index = generated.files[DOCS / "metrics" / "index.md"]  # type: ignore[attr-defined]
    toctree = index.split("```{toctree}")[1].split("```")[0]
    listed = {line.strip() for line in toctree.splitlines()[2:] if line.strip()}
    assert listed == _metric_pages(generated.files)  # type: ignore[attr-defined]


def test_worked_examples_agree_with_the_code(generated: object) -> None:
    # each example's code is run as shown and compared with the hand-worked values
    assert generated.problems == []  # type: ignore[attr-defined]


def test_every_builtin_has_a_worked_example() -> None:
    for metric in csm.metrics.builtins():
        assert metric.name in gen.CASE_EXAMPLES or metric.name in gen.HAND_EXAMPLES, metric.name
        assert metric.name in gen.EDGE_CASES, metric.name
        assert set(gen.EDGE_CASES[metric.name]) == {
            "No reply",
            "Reopened case",
            "Bot hand-off",
            "Agent-created case",
        }


def test_hand_examples_have_at_most_five_events() -> None:
    for name, example in gen.HAND_EXAMPLES.items():
        assert len(example.rows) <= 5, name


def test_case_examples_name_cases_in_the_docs_fixture() -> None:
    # the docs' own worked cases: inside the repository, never in ../shared
    assert gen.DEFAULT_CASES_FILE.is_relative_to(REPO)
    cases = {c.name for c in gen.load_cases(gen.DEFAULT_CASES_FILE)}
    assert cases
    for name, example in gen.CASE_EXAMPLES.items():
        assert example.case in cases, name


def test_docs_and_readme_need_nothing_outside_the_repository(generated: object) -> None:
    files: dict[Path, str] = generated.files  # type: ignore[attr-defined]
    pages = [p for p, text in files.items() if "../shared" in text or "not found when" in text]
    assert not pages, pages
    assert "../shared" not in (REPO / "README.md").read_text(encoding="utf-8")
    for page in ("tutorial.md", "presets.md", "getting-started.md", "conventions.md"):
        assert "../shared" not in (DOCS / page).read_text(encoding="utf-8"), page
    assert "REAL_DATA" not in (DOCS / "tutorial.md").read_text(encoding="utf-8")


def test_conformance_comments_are_read(tmp_path: Path) -> None:
    path = tmp_path / "cases.toml"
    path.write_text(
        "[[case]]\n"
        'name = "one"\nchannel = "email"\nas_of = "2024-03-01T18:00:00Z"\n'
        'events = [{ ts = "2024-03-01T09:00:00Z", event_type = "case_created", '
        'actor = "customer" }]\n'
        "[case.expect]\n"
        "first_response_time = 1800   # 09:00 → 09:30\n"
        'is_open = "null"\n'
        "[case.expect_zendesk]\n"
        "first_response_time = 60  # a # inside\n",
        encoding="utf-8",
    )
    (case,) = gen.load_cases(path)
    assert case.expect == {
        "expect": {"first_response_time": 1800, "is_open": "null"},
        "expect_zendesk": {"first_response_time": 60},
    }
    assert case.comments == {
        ("expect", "first_response_time"): "09:00 → 09:30",
        ("expect_zendesk", "first_response_time"): "a # inside",
    }
    table = gen.expected_table(case, ["first_response_time"])
    assert (
        "| **`first_response_time`** | 1800 | every preset but zendesk | 09:00 → 09:30 |" in table
    )
    assert "| `first_response_time` | 60 | zendesk | a # inside |" not in table  # highlighted
    assert "| **`first_response_time`** | 60 | zendesk | a # inside |" in table


def test_without_the_conformance_file_pages_still_render(tmp_path: Path) -> None:
    result = gen.generate(DOCS, tmp_path / "absent.toml", write=False, run=False)
    assert result.problems == []
    page = result.files[DOCS / "metrics" / "first_response_time.md"]
    assert "was not found when these docs were built" in page


def test_generation_is_deterministic() -> None:
    first = gen.generate(DOCS, gen.DEFAULT_CASES_FILE, write=False, run=False).files
    second = gen.generate(DOCS, gen.DEFAULT_CASES_FILE, write=False, run=False).files
    assert first == second
    assert all(text.startswith(gen.GENERATED_MARK) for text in first.values())
    assert not any(re.search(r"0x[0-9a-f]{6,}", text) for text in first.values())


def test_written_files_are_only_rewritten_when_changed(tmp_path: Path) -> None:
    first = gen.generate(tmp_path, gen.DEFAULT_CASES_FILE, write=True, run=False)
    assert set(first.written) == set(first.files)
    stale = tmp_path / "metrics" / "retired_metric.md"
    stale.write_text(gen.GENERATED_MARK + "\n# old\n", encoding="utf-8")
    mine = tmp_path / "metrics" / "hand_written.md"
    mine.write_text("# not generated\n", encoding="utf-8")
    second = gen.generate(tmp_path, gen.DEFAULT_CASES_FILE, write=True, run=False)
    assert second.written == []
    assert second.removed == [stale]
    assert mine.exists()


def test_generated_code_is_formatted(tmp_path: Path) -> None:
    # `ruff format --check .` also reads Markdown code blocks: generated pages must pass it
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed next to this Python")
    result = gen.generate(tmp_path, gen.DEFAULT_CASES_FILE, write=True, run=False)
    assert result.written
    command = [str(ruff), "format", "--check", "--config", str(REPO / "pyproject.toml")]
    done = subprocess.run([*command, str(tmp_path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_preset_table_is_the_policy() -> None:
    table = gen.render_preset_table()
    for preset in ("csmetrics", "zendesk", "intercom", "chatwoot", "plain"):
        assert f"`{preset}`" in table
    for knob in csm.Policy().describe():
        if knob != "name":
            assert f"| `{knob}` |" in table, knob
    zendesk_row = next(line for line in table.splitlines() if line.startswith("| `agent_created`"))
    assert "**`second_public_reply`**" in zendesk_row  # differs from the default: bold


def _toctree_entries() -> list[str]:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    entries = []
    for block in re.findall(r"```\{toctree\}\n(.*?)```", index, flags=re.S):
        entries += [e.strip() for e in block.splitlines() if e.strip() and e[:1] != ":"]
    return entries


def test_toctree_entries_exist() -> None:
    sources = {p.relative_to(DOCS).with_suffix("").as_posix() for p in DOCS.rglob("*.md")}
    sources |= {"metrics/index"}  # generated at build time
    for entry in _toctree_entries():
        assert entry in sources, entry


def test_every_page_is_in_the_toctree() -> None:
    # sphinx-build -W fails on a page no toctree lists: say so here first, and which one
    pages = {p.stem for p in DOCS.glob("*.md") if p.stem != "index" and p.name[0] != "_"}
    missing = pages - set(_toctree_entries())
    assert not missing, f"add {sorted(missing)} to a toctree in docs/index.md"


def test_guarantees_cite_tests_that_exist() -> None:
    text = (DOCS / "guarantees.md").read_text(encoding="utf-8")
    cited = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", text)
    assert cited, "the guarantees page cites no test"
    for path, name in cited:
        source = REPO / path
        assert source.is_file(), path
        if name:
            assert re.search(rf"def {name}\b", source.read_text(encoding="utf-8")), (path, name)


@pytest.mark.parametrize("page", ["getting-started.md", "tutorial.md"])
def test_page_examples_run(page: str) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    real_data = REPO.parent / "shared" / "data" / "real"
    if "REAL_DATA" in text and not real_data.is_dir():
        pytest.skip(f"{page} reads {real_data}, absent outside this repository's CI")
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {"REAL_DATA": real_data}, page, str(DOCS / page), 0)
    assert test.examples, page
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} example(s) of {page} failed (output above)"


@pytest.mark.skipif(
    os.environ.get("CSM_DOCS_BUILD") != "1", reason="set CSM_DOCS_BUILD=1 to build the docs"
)
def test_sphinx_build_has_no_warnings(tmp_path: Path) -> None:
    sphinx_build = Path(sys.executable).with_name("sphinx-build")
    command = [str(sphinx_build), "-W", "-q", "-b", "html", str(DOCS), str(tmp_path / "html")]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(
    os.environ.get("CSM_DOCS_BUILD") != "1", reason="set CSM_DOCS_BUILD=1 to build the docs"
)
def test_docs_build_in_a_clone_without_shared(tmp_path: Path) -> None:
    # a copy of the tracked files, with no ../shared beside it: the docs still build with -W
    # and the tutorial still runs
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    clone = tmp_path / "clone"
    for name in listed.stdout.decode().split("\0"):
        if name and (REPO / name).is_file():
            target = clone / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((REPO / name).read_bytes())
    assert not (clone.parent / "shared").exists()
    sphinx_build = Path(sys.executable).with_name("sphinx-build")
    out = tmp_path / "html"
    command = [str(sphinx_build), "-W", "-q", "-b", "html", str(clone / "docs"), str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    page = (out / "metrics" / "first_response_time.html").read_text(encoding="utf-8")
    assert "2700" in page  # the worked case of the docs' own fixture
    assert "was not found" not in (out / "presets.html").read_text(encoding="utf-8")
