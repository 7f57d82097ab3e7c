internal import CCurl

/// A libcurl call that failed: which call, and the code it returned.
struct CurlError: Error, Sendable, CustomStringConvertible {
    let code: Int
    let call: String
    let message: String

    init(_ code: CURLcode, _ call: String) {
        self.code = Int(code.rawValue)
        self.call = call
        self.message = curl_easy_strerror(code).map { String(cString: $0) } ?? "unknown"
    }

    init(multi code: CURLMcode, _ call: String) {
        self.code = Int(code.rawValue)
        self.call = call
        self.message = curl_multi_strerror(code).map { String(cString: $0) } ?? "unknown"
    }

    var description: String { "\(self.call) failed: \(self.message) (\(self.code))" }
}

/// `curl_global_init`, exactly once per process (a `static let` initialiser runs once, thread-safely).
enum CurlGlobal {
    static let initialized: Result<Void, CurlError> = {
        let code = curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        return code == CURLE_OK ? .success(()) : .failure(CurlError(code, "curl_global_init"))
    }()

    static func ensure() throws(CurlError) {
        try Self.initialized.get()
    }
}

/// Owns one `CURL *` easy handle.
struct EasyHandle: ~Copyable {
    let raw: UnsafeMutableRawPointer

    init() throws(CurlError) {
        guard let raw = curl_easy_init() else { throw CurlError(CURLE_FAILED_INIT, "curl_easy_init") }
        self.raw = raw
    }

    deinit { curl_easy_cleanup(self.raw) }

    func set(_ option: CURLoption, _ value: Int) throws(CurlError) {
        try Self.check(ccurl_easy_setopt_long(self.raw, option, value), option)
    }

    /// libcurl copies string options, so the C string only has to live for the call.
    func set(_ option: CURLoption, _ value: String) throws(CurlError) {
        let code = value.withCString { ccurl_easy_setopt_string(self.raw, option, $0) }
        try Self.check(code, option)
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws(CurlError) {
        try Self.check(ccurl_easy_setopt_pointer(self.raw, option, pointer), option)
    }

    /// The list must outlive the transfer; ``TransferContext`` keeps it next to the handle.
    func set(headers: borrowing HeaderList) throws(CurlError) {
        try Self.check(ccurl_easy_setopt_slist(self.raw, CURLOPT_HTTPHEADER, headers.raw), CURLOPT_HTTPHEADER)
    }

    /// Any `curl_slist` option (e.g. `CURLOPT_RESOLVE`); the list must outlive the transfer.
    func set(_ option: CURLoption, list: borrowing HeaderList) throws(CurlError) {
        try Self.check(ccurl_easy_setopt_slist(self.raw, option, list.raw), option)
    }

    func setWriteFunction(_ option: CURLoption, _ function: curl_write_callback) throws(CurlError) {
        try Self.check(ccurl_easy_setopt_write_callback(self.raw, option, function), option)
    }

    func setOpenSocketFunction(_ function: curl_opensocket_callback) throws(CurlError) {
        try Self.check(ccurl_easy_setopt_opensocket_callback(self.raw, function), CURLOPT_OPENSOCKETFUNCTION)
    }

    func setPrereqFunction(_ function: curl_prereq_callback) throws(CurlError) {
        try Self.check(ccurl_easy_setopt_prereq_callback(self.raw, function), CURLOPT_PREREQFUNCTION)
    }

    func infoInt(_ info: CURLINFO) -> Int? {
        var value = 0
        return ccurl_easy_getinfo_long(self.raw, info, &value) == CURLE_OK ? value : nil
    }

    func infoOffset(_ info: CURLINFO) -> Int64? {
        var value: curl_off_t = 0
        return ccurl_easy_getinfo_off_t(self.raw, info, &value) == CURLE_OK ? Int64(value) : nil
    }

    func infoString(_ info: CURLINFO) -> String? {
        Self.infoString(self.raw, info)
    }

    /// Also used from callbacks, which only hold the raw pointer.
    static func infoString(_ raw: UnsafeMutableRawPointer, _ info: CURLINFO) -> String? {
        var value: UnsafeMutablePointer<CChar>? = nil
        guard ccurl_easy_getinfo_string(raw, info, &value) == CURLE_OK, let value else { return nil }
        return String(cString: value)
    }

    private static func check(_ code: CURLcode, _ option: CURLoption) throws(CurlError) {
        guard code == CURLE_OK else { throw CurlError(code, "curl_easy_setopt(\(option.rawValue))") }
    }
}

/// Owns a `curl_slist` (request headers, resolve overrides).
struct HeaderList: ~Copyable {
    private(set) var raw: UnsafeMutablePointer<curl_slist>? = nil

    init(_ lines: [String]) throws(CurlError) {
        for line in lines {
            guard let next = curl_slist_append(self.raw, line) else {
                throw CurlError(CURLE_OUT_OF_MEMORY, "curl_slist_append")
            }
            self.raw = next
        }
    }

    deinit { curl_slist_free_all(self.raw) }
}

/// Owns one `CURLM *` multi handle. `wakeup()` is the only method that may be called from any thread.
struct MultiHandle: ~Copyable {
    let raw: UnsafeMutableRawPointer

    init() throws(CurlError) {
        guard let raw = curl_multi_init() else { throw CurlError(CURLE_FAILED_INIT, "curl_multi_init") }
        self.raw = raw
    }

    deinit { curl_multi_cleanup(self.raw) }

    func set(_ option: CURLMoption, _ value: Int) throws(CurlError) {
        let code = ccurl_multi_setopt_long(self.raw, option, value)
        guard code == CURLM_OK else { throw CurlError(multi: code, "curl_multi_setopt(\(option.rawValue))") }
    }

    func add(_ easy: borrowing EasyHandle) throws(CurlError) {
        let code = curl_multi_add_handle(self.raw, easy.raw)
        guard code == CURLM_OK else { throw CurlError(multi: code, "curl_multi_add_handle") }
    }

    func remove(_ easy: borrowing EasyHandle) throws(CurlError) {
        let code = curl_multi_remove_handle(self.raw, easy.raw)
        guard code == CURLM_OK else { throw CurlError(multi: code, "curl_multi_remove_handle") }
    }

    /// Drives all transfers as far as they go without blocking.
    func perform() throws(CurlError) {
        var running: Int32 = 0
        let code = curl_multi_perform(self.raw, &running)
        guard code == CURLM_OK else { throw CurlError(multi: code, "curl_multi_perform") }
    }

    /// Waits for socket activity, curl's own timers, a `wakeup()`, or `timeoutMilliseconds`.
    func poll(timeoutMilliseconds: Int32) throws(CurlError) {
        var ready: Int32 = 0
        let code = curl_multi_poll(self.raw, nil, 0, timeoutMilliseconds, &ready)
        guard code == CURLM_OK else { throw CurlError(multi: code, "curl_multi_poll") }
    }

    /// Interrupts a `poll` on the loop thread. Thread-safe by libcurl's contract.
    func wakeup() {
        _ = curl_multi_wakeup(self.raw)
    }

    /// The next finished transfer: its easy handle and result code.
    func nextCompletion() -> (easy: UnsafeMutableRawPointer, code: CURLcode)? {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(self.raw, &remaining) {
            if message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle {
                return (easy, message.pointee.data.result)
            }
        }
        return nil
    }
}
