import Testing

@Suite struct VerifierPlaceholder {}
