import Testing

@Suite struct FetchPlaceholder {}
