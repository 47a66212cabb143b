import Foundation
import Hummingbird
import Synchronization

/// What a page made from a file needs to know about it to tell whether it changed: whether it
/// exists and as what, its inode, size and modification and change times. `digitlab report` and
/// runs write their files atomically (a new inode), and anything else that rewrites a file moves
/// its modification time, so an unchanged stamp means an unchanged file; `PageCache` handles the
/// one gap, a rewrite within the file system's clock tick.
struct FileStamp: Hashable, Sendable {
    var kind: UInt32 = 0
    var inode: UInt64 = 0
    var size: Int64 = 0
    var modified: Int64 = 0
    var changed: Int64 = 0

    /// The stamp of the file or directory at `path`; a missing one has a stamp of zeros.
    init(_ path: String) {
        var s = stat()
        guard stat(path, &s) == 0 else { return }
        kind = UInt32(s.st_mode) & UInt32(S_IFMT)
        inode = UInt64(s.st_ino)
        size = Int64(s.st_size)
        modified = Int64(s.st_mtim.tv_sec) * 1_000_000_000 + Int64(s.st_mtim.tv_nsec)
        changed = Int64(s.st_ctim.tv_sec) * 1_000_000_000 + Int64(s.st_ctim.tv_nsec)
    }
}

/// The files a page was made from, each stamped just before the page read it, so that a change
/// made while the page was being made shows as a change next time.
struct WatchedFiles: Sendable {
    private(set) var paths: [String] = []
    private(set) var stamps: [FileStamp] = []

    /// Stamps `path`; call it before reading the file or listing the directory.
    mutating func watch(_ path: String) {
        paths.append(path)
        stamps.append(FileStamp(path))
    }

    /// Whether every file still has the stamp it had.
    var unchanged: Bool { zip(paths, stamps).allSatisfy { FileStamp($0) == $1 } }

    /// Whether every file was last changed long enough ago for its stamp to show the next change.
    func settled(now: Int64) -> Bool {
        stamps.allSatisfy { now - max($0.modified, $0.changed) >= PageCache.settleNanoseconds }
    }
}

/// Rendered pages kept with the files they were made from (`WatchedFiles`), so that a request
/// that finds none of those files changed gets the bytes already made: the study page reads
/// `summary.csv` and the verdicts, its curves a history per seed, and making them again for every
/// request is what held the study page at about 1,300 requests/s. Bounded: a key holds a
/// request's query, which a client chooses.
final class PageCache: Sendable {
    /// How many pages are kept; past it the oldest entry is dropped.
    static let capacity = 64
    /// Files modified this recently are not trusted to show their next change in their stamp: a
    /// file rewritten in place, at the same size, within the file system's clock tick (a few
    /// milliseconds) keeps its times. Pages made from such a file are served but not kept (git's
    /// "racily clean" index entries are the same problem).
    static let settleNanoseconds: Int64 = 100_000_000

    private let entries = Mutex<(pages: [String: (files: WatchedFiles, response: CachedResponse)], order: [String])>(([:], []))

    /// The page for `key`: the kept one when none of its files changed since (header
    /// `X-Page-Cache: hit`), else the one `render` makes (`miss`), watching each file it reads;
    /// kept when rendering succeeds and its files have settled.
    func page(_ key: String, render: (inout WatchedFiles) throws -> CachedResponse) rethrows -> Response {
        if let kept = entries.withLock({ $0.pages[key] }), kept.files.unchanged {
            return kept.response.response(cache: "hit")
        }
        var files = WatchedFiles()
        let made = try render(&files)
        if files.settled(now: Int64(Date().timeIntervalSince1970 * 1e9)) {
            entries.withLock { state in
                if state.pages.updateValue((files, made), forKey: key) == nil {
                    state.order.append(key)
                    if state.order.count > Self.capacity { state.pages[state.order.removeFirst()] = nil }
                }
            }
        }
        return made.response(cache: "miss")
    }

    /// A key for `query`'s parameters, whatever their order in the URL.
    static func key(_ route: String, _ query: Query) -> String {
        route + "?" + query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{0}")
    }
}

/// A page's type and bytes, kept to be sent again.
struct CachedResponse: Sendable {
    var type: String
    var body: ByteBuffer

    init(_ text: String, type: String) {
        self.type = type
        body = ByteBuffer(string: text)
    }

    /// The response, with `cache` ("hit" or "miss") in `X-Page-Cache`.
    func response(cache: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-store", .pageCache: cache],
                 body: .init(byteBuffer: body))
    }
}

/// Predict's answers to uploads seen before: the try page sends the same drawing again when only
/// the model or the mode changes back, and a load test sends one body over and over. Keyed by the
/// upload's bytes themselves (hashed for the lookup, compared in full on a hit, so two uploads
/// never share an answer), the model's file and the mode; only uploads up to `largestUpload` are
/// kept, and at most `capacity` answers, the oldest dropped first. A model's file is read once and
/// every reader of it made from those bytes (`ReaderShelf`), so its answers never change while the
/// server runs.
final class AnswerCache: Sendable {
    struct Key: Hashable, Sendable {
        var upload: [UInt8]
        var modelPath: String
        var number: Bool

        /// The upload's bytes hashed in one call: the synthesized hash combined them one at a
        /// time, 4% of a distinct upload's predict under load. Equality still compares them all.
        func hash(into hasher: inout Hasher) {
            upload.withUnsafeBytes { hasher.combine(bytes: $0) }
            hasher.combine(upload.count)
            hasher.combine(modelPath)
            hasher.combine(number)
        }
    }

    /// A drawing from the try page is a few kilobytes; a photograph is larger and seldom sent twice.
    static let largestUpload = 64 << 10
    /// At most this many answers (with their uploads: under 20 MB at the largest).
    static let capacity = 256

    private struct State {
        var answers: [Key: ByteBuffer] = [:]
        var order: [Key] = []
        /// Answers being computed: an upload that arrives again meanwhile waits for the same one,
        /// so fifty clients sending one new drawing at once cost one computation, not fifty.
        var computing: [Key: Task<ByteBuffer, any Error>] = [:]
    }

    private let state = Mutex(State())

    /// The answer for `key` and whether it came from another request ("hit": kept, or being
    /// computed for another request) or from `compute` ("miss"). Errors are not kept: the next
    /// request computes again. Uploads over `largestUpload` are always computed.
    func answer(_ key: Key, compute: @escaping @Sendable () async throws -> ByteBuffer) async throws -> (answer: ByteBuffer, hit: Bool) {
        guard key.upload.count <= Self.largestUpload else { return (try await compute(), false) }
        enum Found { case kept(ByteBuffer), waiting(Task<ByteBuffer, any Error>), started(Task<ByteBuffer, any Error>) }
        let found = state.withLock { s -> Found in
            if let kept = s.answers[key] { return .kept(kept) }
            if let task = s.computing[key] { return .waiting(task) }
            let task = Task { try await compute() }
            s.computing[key] = task
            return .started(task)
        }
        switch found {
        case .kept(let answer): return (answer, true)
        case .waiting(let task): return (try await task.value, true)
        case .started(let task):
            let result = await task.result
            state.withLock { s in
                s.computing[key] = nil
                if case .success(let answer) = result, s.answers.updateValue(answer, forKey: key) == nil {
                    s.order.append(key)
                    if s.order.count > Self.capacity { s.answers[s.order.removeFirst()] = nil }
                }
            }
            return (try result.get(), false)
        }
    }
}

extension HTTPFields.Element.Name {
    /// `hit` when a page was served from `PageCache`, `miss` when it was made for the request.
    static let pageCache = Self("X-Page-Cache")!
    /// `hit` when predict's answer came from `AnswerCache`, `miss` when it was computed.
    static let answerCache = Self("X-Answer-Cache")!
}
