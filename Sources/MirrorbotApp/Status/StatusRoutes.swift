import Foundation
import Hummingbird
import Logging
import NIOCore
import S5Peer

/// The status site on the node's HTTP port: `/status`, `/status/mirror?m=KEY`, `/status/file?feed=F&name=N`,
/// `/status/peers`, each with its JSON twin (`.json` after the path, or `Accept: application/json`), the
/// stylesheet `/status/style.css` and a file's Metalink `/status/file.meta4?feed=F&name=N`.
///
/// GET and HEAD only (405 with `Allow` for the other methods). Every answer carries ``securityHeaders``: a
/// `Content-Security-Policy` that allows no script, no inline style and nothing from other hosts.
public enum StatusRoutes {
    /// The pages' `Content-Security-Policy`: the stylesheet from this origin, images from it or `data:` URLs,
    /// nothing else (no script, no form, no frame, no `<base>`).
    public static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        + "frame-ancestors 'none'"

    /// Headers on every answer of the status routes.
    public static let securityHeaders: HTTPFields = {
        var fields = HTTPFields()
        // The names are valid field names (RFC 9110 tokens), so the failable initialiser cannot fail.
        fields[HTTPFields.Element.Name("Content-Security-Policy")!] = contentSecurityPolicy
        fields[HTTPFields.Element.Name("X-Content-Type-Options")!] = "nosniff"
        fields[HTTPFields.Element.Name("Referrer-Policy")!] = "no-referrer"
        return fields
    }()

    /// The most pages a list may be asked for (a bound on `?page=`).
    public static let maxPage = 1_000_000

    /// The routes and what they serve.
    enum Route: CaseIterable {
        case overview, overviewJSON, mirror, mirrorJSON, file, fileJSON, metalink, peers, peersJSON, style

        var path: String {
            switch self {
            case .overview: "/status"
            case .overviewJSON: "/status.json"
            case .mirror: "/status/mirror"
            case .mirrorJSON: "/status/mirror.json"
            case .file: "/status/file"
            case .fileJSON: "/status/file.json"
            case .metalink: "/status/file.meta4"
            case .peers: "/status/peers"
            case .peersJSON: "/status/peers.json"
            case .style: "/status/style.css"
            }
        }

        /// Is this a JSON twin's own path?
        var isJSON: Bool { [.overviewJSON, .mirrorJSON, .fileJSON, .peersJSON].contains(self) }

        /// Does the answer depend on `Accept`?
        var negotiates: Bool { [.overview, .mirror, .file, .peers].contains(self) }
    }

    /// Methods answered with 405 (every other method of RFC 9110 and PATCH); GET and HEAD are served.
    static let refusedMethods: [HTTPRequest.Method] = [.post, .put, .delete, .patch, .options, .trace, .connect]

    /// Adds the routes.
    /// - Parameters:
    ///   - router: the node's router.
    ///   - source: where the pages come from.
    ///   - now: the clock (tests fix it).
    ///   - logger: where a store failure is logged (the answer says only that the store failed).
    public static func install(
        on router: PeerServerRouter, source: any StatusSource, now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "mirrorbot.status")
    ) {
        for route in Route.allCases {
            let path = RouterPath(route.path)
            router.get(path) { request, _ -> Response in
                await answer(route, request, source: source, now: now(), logger: logger)
            }
            router.head(path) { request, _ -> Response in
                let full = await answer(route, request, source: source, now: now(), logger: logger)
                return Response(status: full.status, headers: full.headers, body: .init())
            }
            for method in refusedMethods {
                router.on(path, method: method) { _, _ -> Response in
                    var headers = securityHeaders
                    headers[.allow] = "GET, HEAD"
                    return text(.methodNotAllowed, "method not allowed: use GET or HEAD\n", headers: headers)
                }
            }
        }
    }

    /// Does a request's `Accept` prefer JSON? True when `application/json` (with a q above 0) comes before any
    /// `text/html` in the list, as `curl -H 'Accept: application/json'` sends; browsers list HTML first.
    /// - Parameter accept: the `Accept` values, comma-joined.
    /// - Returns: `true` for JSON.
    public static func prefersJSON(_ accept: String?) -> Bool {
        guard let accept else { return false }
        for item in accept.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let type = parts.first else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 1
            }
            if quality <= 0 { continue }
            if type == "application/json" { return true }
            if type == "text/html" || type == "application/xhtml+xml" { return false }
        }
        return false
    }

    // MARK: - Answers

    static func answer(_ route: Route, _ request: Request, source: any StatusSource, now: Date, logger: Logger) async
        -> Response
    {
        let query = request.uri.queryParameters
        let json = route.isJSON || (route.negotiates && prefersJSON(request.headers[values: .accept].joined(separator: ",")))
        let page = pageNumber(query["page"].map(String.init))
        var response: Response
        do {
            switch route {
            case .style:
                response = body(
                    .ok, ByteBuffer(string: StatusTemplates.stylesheet), type: "text/css; charset=utf-8",
                    cache: "public, max-age=3600")
            case .overview, .overviewJSON:
                let sort = StatusSort(parsing: query["sort"].map(String.init))
                let value = try await source.overview(page: page, sort: sort, now: now)
                response = json ? jsonResponse(value) : html(StatusPages.overview(value, links: .served))
            case .mirror, .mirrorJSON:
                guard let key = query["m"].map(String.init), !key.isEmpty else {
                    return missing(json, .badRequest, "want ?m=<mirror: scheme and authority, percent-encoded>")
                }
                guard let value = try await source.mirror(key, page: page, now: now) else {
                    return missing(json, .notFound, "no such mirror in the store")
                }
                response = json ? jsonResponse(value) : html(StatusPages.mirror(value, links: .served))
            case .file, .fileJSON, .metalink:
                guard let feed = query["feed"].map(String.init), let name = query["name"].map(String.init),
                    !feed.isEmpty, !name.isEmpty
                else { return missing(json, .badRequest, "want ?feed=<feed>&name=<file name>, percent-encoded") }
                guard let value = try await source.file(feed: feed, name: name, now: now) else {
                    return missing(json, .notFound, "no such file in the store")
                }
                if route == .metalink {
                    guard let document = StatusPages.metalink(value) else {
                        return missing(false, .notFound, "no mirror serves the right bytes of this file")
                    }
                    response = body(
                        .ok, ByteBuffer(string: document), type: "application/metalink4+xml; charset=utf-8",
                        cache: "no-cache")
                } else {
                    response = json ? jsonResponse(value) : html(StatusPages.file(value, links: .served))
                }
            case .peers, .peersJSON:
                let value = try await source.peers(page: page, now: now)
                response = json ? jsonResponse(value) : html(StatusPages.peers(value, links: .served))
            }
        } catch {
            // The error may name the database's path: it goes to the log, not to the page.
            logger.error("status page failed", metadata: ["http.path": "\(route.path)", "error": "\(error)"])
            return missing(json, .internalServerError, "the store could not be read")
        }
        if route.negotiates { response.headers[.vary] = "Accept" }
        return response
    }

    /// `?page=`: 1 when absent or not a number, at most ``maxPage``.
    static func pageNumber(_ text: String?) -> Int {
        guard let text, let value = Int(text) else { return 1 }
        return min(max(1, value), maxPage)
    }

    private static func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        body(status, ByteBuffer(bytes: StatusJSON.encode(value)), type: "application/json", cache: "no-cache")
    }

    private static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        body(status, ByteBuffer(string: text), type: "text/html; charset=utf-8", cache: "no-cache")
    }

    private static func missing(_ json: Bool, _ status: HTTPResponse.Status, _ message: String) -> Response {
        if json {
            return jsonResponse(["error": message], status: status)
        }
        return text(status, message + "\n", headers: securityHeaders)
    }

    private static func text(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields) -> Response {
        var headers = headers
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.contentLength] = "\(message.utf8.count)"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: message)))
    }

    private static func body(_ status: HTTPResponse.Status, _ buffer: ByteBuffer, type: String, cache: String)
        -> Response
    {
        var headers = securityHeaders
        headers[.contentType] = type
        headers[.cacheControl] = cache
        headers[.contentLength] = "\(buffer.readableBytes)"
        return Response(status: status, headers: headers, body: .init(byteBuffer: buffer))
    }
}
