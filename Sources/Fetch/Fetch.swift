// Fetch: filled in by its issue.
