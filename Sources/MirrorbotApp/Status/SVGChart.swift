import Foundation

/// The status pages' charts as inline SVG, made from numbers only: pure functions of their inputs, no text from
/// feeds or peers inside (the few labels are ours, and escaped all the same). Colours come from classes the
/// stylesheet styles, with presentation attributes as a fallback, so no `style` attribute is needed under a strict
/// `Content-Security-Policy`.
///
/// Values that are not finite or are negative count as 0 (or as a gap where a series allows gaps); values above
/// ``ceiling`` are clamped, so huge values still give coordinates inside the box.
public enum SVGChart {
    /// The largest value drawn; larger ones are clamped (five of them still add up to a finite sum).
    public static let ceiling = 1e300

    /// The series of a stacked bar: its class and fallback colour, bottom first.
    public struct Series: Sendable, Equatable {
        public var name: String
        public var cssClass: String
        public var fill: String

        public init(name: String, cssClass: String, fill: String) {
            self.name = name
            self.cssClass = cssClass
            self.fill = fill
        }
    }

    /// A line of sparkline points with gaps: each run of consecutive values is one polyline.
    /// - Parameters:
    ///   - values: one value a slot, oldest first; `nil` (or a non-finite value) is a gap.
    ///   - width: the picture's width in pixels (at least 2).
    ///   - height: its height in pixels (at least 2).
    ///   - top: the value drawn at the top; `nil` for the largest value (or 1 when every value is 0).
    ///   - label: the picture's accessible name (ours, escaped).
    /// - Returns: an `<svg>` element: a polyline per run of values, a dot on the last value, and a baseline; an
    ///   empty series gives the baseline alone.
    public static func sparkline(
        _ values: [Double?], width: Int = 100, height: Int = 20, top: Double? = nil, label: String
    ) -> String {
        let width = max(2, width)
        let height = max(2, height)
        let clean = values.map { value -> Double? in
            guard let value, value.isFinite else { return nil }
            return min(max(0, value), ceiling)
        }
        let largest = top.map { $0.isFinite && $0 > 0 ? min($0, ceiling) : 1 } ?? clean.compactMap { $0 }.max() ?? 1
        let scaleTop = largest > 0 ? largest : 1
        let inset = 2.0
        let plotWidth = Double(width) - 2 * inset
        let plotHeight = Double(height) - 2 * inset
        func x(_ index: Int) -> Double {
            clean.count == 1 ? Double(width) / 2 : inset + plotWidth * Double(index) / Double(clean.count - 1)
        }
        func y(_ value: Double) -> Double { inset + plotHeight * (1 - min(value, scaleTop) / scaleTop) }

        var svg =
            "<svg class=\"spark\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(escape(label))\">"
        svg += "<line class=\"spark-base\" x1=\"0\" y1=\"\(number(Double(height) - inset))\" x2=\"\(width)\" "
        svg += "y2=\"\(number(Double(height) - inset))\" stroke=\"#ccc\" stroke-width=\"1\"/>"
        var run: [String] = []
        func flush() {
            if run.count > 1 {
                svg += "<polyline class=\"spark-line\" fill=\"none\" stroke=\"#2a6fb0\" stroke-width=\"1.5\" "
                svg += "points=\"\(run.joined(separator: " "))\"/>"
            } else if let only = run.first {
                // A value between gaps: a point, or it would not show.
                let parts = only.split(separator: ",")
                svg += "<circle class=\"spark-point\" cx=\"\(parts[0])\" cy=\"\(parts[1])\" r=\"1.5\" fill=\"#2a6fb0\"/>"
            }
            run = []
        }
        for (index, value) in clean.enumerated() {
            guard let value else {
                flush()
                continue
            }
            run.append("\(number(x(index))),\(number(y(value)))")
        }
        flush()
        if let last = clean.indices.last(where: { clean[$0] != nil }), let value = clean[last] {
            svg += "<circle class=\"spark-dot\" cx=\"\(number(x(last)))\" cy=\"\(number(y(value)))\" r=\"2\" "
            svg += "fill=\"#2a6fb0\"/>"
        }
        return svg + "</svg>"
    }

    /// Stacked bars (one a slot, its series bottom first) and a line on its own scale (e.g. speed), with the
    /// largest values of both scales written at the top corners.
    /// - Parameters:
    ///   - bars: one array a slot, one value a series (missing values count as 0).
    ///   - series: the series' classes and colours, bottom first.
    ///   - line: one value a slot; `nil` is a gap (fewer values than slots: the rest are gaps).
    ///   - width: the picture's width in pixels.
    ///   - height: its height in pixels.
    ///   - barsTop: the label of the bars' scale at its top, given the largest total (ours, escaped).
    ///   - lineTop: the label of the line's scale at its top, given its largest value (ours, escaped).
    ///   - slotTitle: a tooltip for a slot, given its index (ours, escaped); `nil` for none.
    ///   - label: the picture's accessible name (ours, escaped).
    /// - Returns: an `<svg>` element.
    public static func stackedBars(
        _ bars: [[Double]], series: [Series], line: [Double?], width: Int = 720, height: Int = 180,
        barsTop: (Double) -> String = { number($0) }, lineTop: (Double) -> String = { number($0) },
        slotTitle: ((Int) -> String)? = nil, label: String
    ) -> String {
        let width = max(40, width)
        let height = max(40, height)
        let clean = bars.map { $0.map { $0.isFinite ? min(max(0, $0), ceiling) : 0 } }
        let totals = clean.map { $0.reduce(0, +) }
        let barsMax = totals.max() ?? 0
        let lineValues = (0..<max(clean.count, line.count)).map { index -> Double? in
            guard index < line.count, let value = line[index], value.isFinite else { return nil }
            return min(max(0, value), ceiling)
        }
        let lineMax = lineValues.compactMap { $0 }.max() ?? 0
        let slots = max(clean.count, lineValues.count)
        let left = 4.0
        let right = 4.0
        let topInset = 16.0
        let bottomInset = 4.0
        let plotWidth = Double(width) - left - right
        let plotHeight = Double(height) - topInset - bottomInset
        let bottom = Double(height) - bottomInset

        var svg =
            "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(escape(label))\">"
        svg += "<line class=\"axis\" x1=\"\(number(left))\" y1=\"\(number(bottom))\" x2=\"\(number(left + plotWidth))\" "
        svg += "y2=\"\(number(bottom))\" stroke=\"#999\" stroke-width=\"1\"/>"
        guard slots > 0 else {
            svg += "<text class=\"empty\" x=\"\(number(Double(width) / 2))\" y=\"\(number(Double(height) / 2))\" "
            svg += "text-anchor=\"middle\" font-size=\"12\" fill=\"#666\">no checks yet</text>"
            return svg + "</svg>"
        }
        let slotWidth = plotWidth / Double(slots)
        let barWidth = max(1, slotWidth * 0.8)
        for (index, values) in clean.enumerated() {
            let x = left + slotWidth * Double(index) + (slotWidth - barWidth) / 2
            var base = bottom
            var group = "<g class=\"slot\">"
            if let slotTitle { group += "<title>\(escape(slotTitle(index)))</title>" }
            for (position, value) in values.enumerated() where value > 0 && barsMax > 0 {
                let barHeight = plotHeight * value / barsMax
                let kind = position < series.count ? series[position] : Series(name: "", cssClass: "", fill: "#999")
                group += "<rect class=\"\(escape(kind.cssClass))\" x=\"\(number(x))\" y=\"\(number(base - barHeight))\" "
                group += "width=\"\(number(barWidth))\" height=\"\(number(barHeight))\" fill=\"\(escape(kind.fill))\"/>"
                base -= barHeight
            }
            svg += group + "</g>"
        }
        if lineMax > 0 {
            var run: [String] = []
            func flush() {
                if run.count > 1 {
                    svg += "<polyline class=\"speed-line\" fill=\"none\" stroke=\"#222\" stroke-width=\"2\" "
                    svg += "points=\"\(run.joined(separator: " "))\"/>"
                } else if let only = run.first {
                    let parts = only.split(separator: ",")
                    svg += "<circle class=\"speed-dot\" cx=\"\(parts[0])\" cy=\"\(parts[1])\" r=\"3\" fill=\"#222\"/>"
                }
                run = []
            }
            for (index, value) in lineValues.enumerated() {
                guard let value else {
                    flush()
                    continue
                }
                let x = left + slotWidth * (Double(index) + 0.5)
                run.append("\(number(x)),\(number(bottom - plotHeight * value / lineMax))")
            }
            flush()
        }
        if barsMax > 0 {
            svg += "<text class=\"scale\" x=\"\(number(left))\" y=\"12\" font-size=\"11\" fill=\"#444\">"
            svg += "\(escape(barsTop(barsMax)))</text>"
        }
        if lineMax > 0 {
            svg += "<text class=\"scale\" x=\"\(number(left + plotWidth))\" y=\"12\" font-size=\"11\" "
            svg += "text-anchor=\"end\" fill=\"#444\">\(escape(lineTop(lineMax)))</text>"
        }
        return svg + "</svg>"
    }

    /// A coordinate with at most one decimal (`12`, `3.5`), never `nan` or `inf`.
    /// - Parameter value: the value.
    /// - Returns: its text; non-finite values give `0`.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let tenths = (value * 10).rounded()
        if tenths == 0 { return "0" }
        guard abs(tenths) < 1e15 else { return String(format: "%.0f", value) }
        let magnitude = Int64(tenths).magnitude
        let sign = tenths < 0 ? "-" : ""
        return magnitude % 10 == 0 ? "\(sign)\(magnitude / 10)" : "\(sign)\(magnitude / 10).\(magnitude % 10)"
    }

    /// Escapes text for SVG (XML) content and attribute values: the Metalink writer's XML escape.
    static func escape(_ text: String) -> String { MetalinkExport.escape(text) }
}
