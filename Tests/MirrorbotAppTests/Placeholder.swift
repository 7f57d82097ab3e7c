import Testing

@Suite struct MirrorbotAppPlaceholder {}
