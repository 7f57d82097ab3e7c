import Testing

@Suite struct S5CorePlaceholder {}
