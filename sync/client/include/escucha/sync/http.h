// A small HTTP client over libcurl. Being offline is not exceptional, so
// transport failures are values (HttpResult::transport_error), apart from the
// HTTP status. HttpResult::Problem() turns either into a code of
// storage/error_code.h (no network, connection refused, certificate, ...)
// rather than libcurl's text.
//
// Thread contract: an HttpClient (and its CURL handle) belongs to one thread.
#pragma once

#include "escucha/storage/error_code.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace escucha::sync {

struct HttpOptions {
    long connect_timeout_s = 15;
    /// A transfer slower than 1 byte/s for this long is abandoned (a stall).
    long stall_timeout_s = 30;
    long total_timeout_s = 600;
    /// PEM of the certificate (or CA) to trust instead of the system's: the
    /// HQ certificate pinned at enrolment. Empty: the system CAs.
    std::string ca_pem;
    /// Set from another thread to abandon the transfer under way.
    const std::atomic<bool>* cancel = nullptr;
    /// PostCompressed() compresses; false sends every body as it is (to
    /// measure what compression saves).
    bool compress = true;
    /// The local IP address connections leave from; empty: the system's
    /// choice. (Many simulated devices on one machine, each its own address.)
    std::string local_address;
};

struct HttpResult {
    int transport_error = 0;    ///< CURLcode; 0 when a response arrived
    int os_errno = 0;           ///< the system's errno behind a failed connect, when there was one
    std::string transport_text; ///< libcurl's words for the failure (for logs, not for people)
    long status = 0;
    std::string body;
    /// Response headers by lower-case name (the last of a name kept).
    std::map<std::string, std::string> headers;
    [[nodiscard]] bool Ok() const noexcept { return transport_error == 0 && status >= 200 && status < 300; }
    /// The server's {"error": ...} text, or the transport failure, in words.
    [[nodiscard]] std::string ErrorText() const;
    /// The failure as a code with its parameters ("server" = `server`, and
    /// "status" for an answer): the transport failure classified, or the
    /// server's own code when this version knows it (its "params" kept).
    [[nodiscard]] storage::ErrorValue Problem(const std::string& server) const;
};

/// The code of a libcurl failure (CURLcode `curl_code`, `os_errno` from
/// CURLINFO_OS_ERRNO): errc::CONNECTION_REFUSED, errc::TLS_CERTIFICATE, ...
[[nodiscard]] const char* TransportErrorCode(int curl_code, int os_errno);
/// The host of a URL ("hq.example.org" of "https://hq.example.org:8443/x").
[[nodiscard]] std::string UrlHost(const std::string& url);

/// `data` as one gzip member (zlib's default level), or nullopt when zlib
/// fails.
[[nodiscard]] std::optional<std::string> GzipCompress(std::string_view data);

/// Takes a streamed answer's bytes as they arrive, with the answer's headers
/// (by lower-case name); returns false to stop the transfer.
using StreamSink =
    std::function<bool(const std::map<std::string, std::string>& headers, const char* data, size_t size)>;

class HttpClient {
public:
    explicit HttpClient(HttpOptions options = {});
    ~HttpClient();
    HttpClient(HttpClient&&) noexcept;
    HttpClient& operator=(HttpClient&&) noexcept;
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    /// `bearer` empty: no Authorization header. Never logs headers.
    HttpResult Get(const std::string& url, const std::string& bearer = {});
    HttpResult Post(const std::string& url, const std::string& json, const std::string& bearer = {});
    /// POST of JSON sent gzip-compressed (Content-Encoding: gzip) when that
    /// makes it smaller, as it is otherwise. A server that refuses the
    /// encoding (415 unsupported_encoding: a headquarters older than this)
    /// is sent it again uncompressed, and this client sends it so from then on.
    HttpResult PostCompressed(const std::string& url, const std::string& json, const std::string& bearer = {});
    /// POST of a body already encoded as `content_encoding` says ("gzip";
    /// empty: no header), for tests of what a server accepts.
    HttpResult PostEncoded(const std::string& url, const std::string& body, const std::string& content_encoding,
                           const std::string& bearer = {});
    /// PUT of raw bytes (application/octet-stream).
    HttpResult Put(const std::string& url, const std::string& bytes, const std::string& bearer = {});
    /// GET whose 2xx body goes to `sink` as it arrives, not into the
    /// result (other answers are kept in `body`, up to 64 KiB).
    /// `sink` returns false to stop the transfer (transport error
    /// CURLE_WRITE_ERROR). What `sink` took stays taken when the connection
    /// breaks: a download resumes from there.
    HttpResult GetStreaming(const std::string& url, const std::string& bearer, const StreamSink& sink);

    /// Called as each request with a token is made, on this client's thread:
    /// a header line to send with it ("Name: value"), or empty for none.
    /// It must not throw.
    void SetRequestHeader(std::function<std::string()> header) { m_request_header = std::move(header); }

private:
    HttpResult Perform(const std::string& method, const std::string& url, const std::string* body,
                       const std::string& bearer, const StreamSink* sink = nullptr,
                       const std::string& content_encoding = {});
    struct Holder;
    std::unique_ptr<Holder> m_holder;
    HttpOptions m_options;
    bool m_identity_only = false; ///< the server refused a compressed body once
    std::function<std::string()> m_request_header;
};

} // namespace escucha::sync
