"""Human-readable renderings of a monitoring report (self-contained HTML)."""

from scorewatch.reports.html import render_html

__all__ = ["render_html"]
