"""Reports: performance summaries, charts and (later) daily and weekly reports."""
