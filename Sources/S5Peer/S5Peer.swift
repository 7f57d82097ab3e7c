// S5Peer: filled in by its issue.
