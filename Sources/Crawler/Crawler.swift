// Crawler: filled in by its issue.
