import DigitLab
import Foundation
import Hummingbird

/// What `digitlab serve` serves and where.
public struct ServerConfiguration: Sendable {
    /// The results directory, read as it is on disk (only `evaluate/` is ever written).
    public var results: String
    /// The specs directory, for the sweeps in `sweeps/` and the paper's figures.
    public var experiments: String
    /// MNIST's directory for evaluations (nil: `DIGITLAB_DATA`, else `data/mnist`).
    public var data: String?
    public var host: String
    public var port: Int

    public init(results: String = "results", experiments: String = "experiments", data: String? = nil,
                host: String = "127.0.0.1", port: Int = 8080) {
        self.results = results; self.experiments = experiments; self.data = data; self.host = host; self.port = port
    }

    /// The largest upload the try page accepts.
    public static let maximumUploadBytes = 10 << 20
}

/// A request the server refuses, with its status and one line saying why; pages get it as a small
/// HTML page, `/api/` routes as plain text.
struct ServeError: HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String
    var asPage = true

    func response(from request: Request, context: some RequestContext) throws -> Response {
        asPage ? Site.page(Page.problem(message), status: status) : Site.text(message + "\n", status: status)
    }

    static func notFound(_ what: String, page: Bool = true) -> ServeError {
        ServeError(status: .notFound, message: "no \(what) here", asPage: page)
    }
}

/// The server's application: the router of every page and endpoint over the results directory.
public enum DigitLabServer {
    /// The router, which tests drive through HummingbirdTesting.
    public static func router(_ configuration: ServerConfiguration) -> Router<BasicRequestContext> {
        let site = Site(configuration: configuration)
        let router = Router()
        router.get("/") { request, _ in try site.studyPage(Site.query(request)) }
        router.get("/study/curves.svg") { request, _ in try site.curves(Site.query(request)) }
        router.get("/runs") { request, _ in site.runsPage(Site.query(request)) }
        router.get("/run/**") { _, context in try site.runPage(id: context.parameters.getCatchAll().joined(separator: "/")) }
        router.post("/evaluate/**") { _, context in
            try await site.evaluate(modelID: context.parameters.getCatchAll().joined(separator: "/"))
        }
        router.get("/api/runs") { _, _ in try site.runsJSON() }
        router.get("/api/progress/**") { _, context in
            try site.progressJSON(id: context.parameters.getCatchAll().joined(separator: "/"))
        }
        router.get("/sweeps") { _, _ in site.sweepsPage() }
        router.get("/sweep/:name") { _, context in try site.sweepPage(name: context.parameters.require("name")) }
        router.get("/sweep/:name/chart.svg") { _, context in try site.sweepChart(name: context.parameters.require("name")) }
        router.get("/try") { request, _ in site.tryPage(Site.query(request)) }
        router.post("/api/predict") { request, _ in try await site.predict(request) }
        router.get("/files/**") { _, context in try site.file(context.parameters.getCatchAll().joined(separator: "/")) }
        return router
    }

    /// The application on the configured host and port.
    public static func application(_ configuration: ServerConfiguration) -> some ApplicationProtocol {
        Application(router: router(configuration),
                    configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "digitlab"))
    }
}

/// A request's query parameters, by name (the first value of each).
typealias Query = [String: String]

/// The pages and endpoints, over one results directory.
struct Site: Sendable {
    let configuration: ServerConfiguration
    let library: ResultsLibrary
    let inference: Inference
    /// The study page and its curves, as last made from the files they read.
    let pages = PageCache()
    /// Predict's answers to uploads seen before.
    let answers = AnswerCache()

    init(configuration: ServerConfiguration) {
        self.configuration = configuration
        library = ResultsLibrary(root: configuration.results)
        inference = Inference(dataDirectory: configuration.data)
    }

    static func query(_ request: Request) -> Query {
        var out: Query = [:]
        for (k, v) in request.uri.queryParameters where out[String(k)] == nil { out[String(k)] = String(v) }
        return out
    }

    static func page(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        response(text, type: "text/html; charset=utf-8", status: status)
    }

    static func text(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        response(text, type: "text/plain; charset=utf-8", status: status)
    }

    static func response(_ text: String, type: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: type, .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ value: some Encodable) throws -> Response {
        jsonResponse(try jsonBytes(value))
    }

    /// A value as JSON, keys sorted: the body `json` sends.
    static func jsonBytes(_ value: some Encodable) throws -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return ByteBuffer(bytes: try encoder.encode(value))
    }

    static func jsonResponse(_ body: ByteBuffer, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        headers.append(contentsOf: extra)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// Predict's answer, saying in `X-Answer-Cache` whether it was kept from before ("hit") or computed ("miss").
    static func answer(_ body: ByteBuffer, cache: String) -> Response {
        jsonResponse(body, headers: [.answerCache: cache])
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// A file the results listing has, as its type; anything else is 404.
    func file(_ path: String) throws -> Response {
        guard library.isServable(path),
              let data = FileManager.default.contents(atPath: configuration.results + "/" + path) else {
            throw ServeError.notFound("file \"\(path)\"", page: false)
        }
        let types = ["svg": "image/svg+xml", "csv": "text/csv; charset=utf-8", "md": "text/markdown; charset=utf-8", "png": "image/png"]
        let type = types[(path as NSString).pathExtension.lowercased()] ?? "application/octet-stream"
        return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
