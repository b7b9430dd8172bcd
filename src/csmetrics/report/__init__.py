"""Presenting results: terminal tables, the self-contained HTML report, notebook display."""

from __future__ import annotations

from csmetrics.report.charts import Chart
from csmetrics.report.summary import Report, Summary
from csmetrics.report.text import format_value, headline_table, render_table

__all__ = ["Chart", "Report", "Summary", "format_value", "headline_table", "render_table"]
