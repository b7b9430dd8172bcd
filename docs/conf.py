"""Sphinx configuration of the csmetrics documentation.

Build: ``sphinx-build -W -b html docs docs/_build/html`` (warnings are errors).
The metric pages (``docs/metrics/``) and the fragments in ``docs/_generated/`` are written by
the local extension ``docs/_ext/csm_docs.py`` when the build starts; both are git-ignored.
"""

from __future__ import annotations

import sys
from pathlib import Path

import csmetrics

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "csmetrics"
author = "csmetrics developers"
copyright = "csmetrics developers"
release = csmetrics.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "csm_docs",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
# Fragments included by other pages start with "_" (e.g. `_bench_business_time.md`).
exclude_patterns = ["_build", "_generated", "_ext", "_*.md", "**/_*.md", "Thumbs.db", ".DS_Store"]

# MyST: definition lists for the edge cases, ::: fences, anchors for "page.md#heading" links.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# autodoc + napoleon (NumPy docstrings). Type hints go into the descriptions as text so that
# Polars types, which have no inventory offline, do not become unresolved references.
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True  # `channels=DEFAULT_CHANNELS`, not the whole table
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_ivar = True  # "Attributes" sections as fields: no duplicate attribute entries
napoleon_use_rtype = False
nitpicky = False

# The worked cases rendered in the metric pages (default: the docs' own fixture file,
# docs/_fixtures/worked_examples.toml; CSM_CASES_FILE overrides it).
csm_cases_file = ""

html_theme = "furo"
html_title = f"csmetrics {release}"
html_show_sourcelink = False

# Three classes share the name ``Metric`` (the concrete class, its re-export and the plugin
# Protocol): type hints that say ``Metric`` resolve to several targets. Those cross-references
# are left unlinked rather than failing the -W build.
suppress_warnings = ["ref.python"]
