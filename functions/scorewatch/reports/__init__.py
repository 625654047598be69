"""Human-readable renderings (self-contained HTML): the drift report and the model card.

Imports only :mod:`scorewatch.core` and third-party libraries (Jinja2): the drift report renders
the plain view ``MonitoringReport.to_view()``, so monitoring may import reports, never the reverse.
"""

from scorewatch.reports.html import render_html

__all__ = ["render_html"]
