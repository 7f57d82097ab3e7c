import Testing

@Suite struct S5PeerPlaceholder {}
