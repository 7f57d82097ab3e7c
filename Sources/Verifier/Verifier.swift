// Verifier: filled in by its issue.
