"""Presenting results: terminal tables (and, later, HTML reports and notebook display)."""

from __future__ import annotations

from csmetrics.report.text import format_value, headline_table, render_table

__all__ = ["format_value", "headline_table", "render_table"]
