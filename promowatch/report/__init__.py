"""Human-facing output of a case: the timeline chart and the summary (HTML, PDF)."""
