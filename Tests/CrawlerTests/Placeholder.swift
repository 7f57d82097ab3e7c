import Testing

@Suite struct CrawlerPlaceholder {}
