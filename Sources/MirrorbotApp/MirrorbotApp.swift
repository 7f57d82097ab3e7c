// MirrorbotApp: filled in by its issue.
