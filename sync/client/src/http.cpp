#include "escucha/sync/http.h"

#include "escucha/storage/json.h"

#include <curl/curl.h>
#include <zlib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <map>
#include <stdexcept>

namespace escucha::sync {

namespace {

void GlobalInit() {
    // curl_global_init is not thread-safe; a function-local static is.
    static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) throw std::runtime_error("libcurl could not be initialised");
}

size_t Collect(char* data, size_t size, size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
}

/// Where a streamed answer goes: a 2xx body to the sink, anything else to
/// the result's body (bounded: an error answer is a few words).
struct StreamTarget {
    CURL* handle = nullptr;
    const StreamSink* sink = nullptr;
    std::string* body = nullptr;
    const std::map<std::string, std::string>* headers = nullptr;
};

size_t Stream(char* data, size_t size, size_t count, void* user) {
    auto* target = static_cast<StreamTarget*>(user);
    const size_t n = size * count;
    long status = 0;
    curl_easy_getinfo(target->handle, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) return (*target->sink)(*target->headers, data, n) ? n : 0;
    if (target->body->size() + n > 64 * 1024) return 0;
    target->body->append(data, n);
    return n;
}

/// Keeps each response header by its lower-case name; a new response (after
/// a 100 Continue) starts afresh.
size_t Header(char* data, size_t size, size_t count, void* user) {
    auto* headers = static_cast<std::map<std::string, std::string>*>(user);
    const std::string_view line(data, size * count);
    if (line.starts_with("HTTP/")) {
        headers->clear();
        return size * count;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || headers->size() >= 100) return size * count;
    std::string name(line.substr(0, colon));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
        value.remove_suffix(1);
    (*headers)[name] = std::string(value.substr(0, 1024));
    return size * count;
}

/// A zlib deflate stream, ended when dropped.
struct Deflater {
    z_stream zs{};
    bool ready = false;
    explicit Deflater(int level) {
        // 15 + 16: a gzip header and trailer around the deflate stream.
        ready = deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    }
    ~Deflater() {
        if (ready) deflateEnd(&zs);
    }
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;
};

/// Whether an answer is headquarters refusing the request's Content-Encoding.
bool RefusedEncoding(const HttpResult& result) {
    if (result.transport_error || result.status != 415) return false;
    const auto json = storage::ParseUntrustedJsonOrDiscard<nlohmann::json>(result.body);
    return !json.is_discarded() && json.is_object() && json.value("code", "") == storage::errc::UNSUPPORTED_ENCODING;
}

int Progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    const auto* cancel = static_cast<const std::atomic<bool>*>(user);
    return cancel && cancel->load() ? 1 : 0; // non-zero aborts the transfer
}

} // namespace

/// Owns the CURL handle and the header list hanging off it.
struct HttpClient::Holder {
    CURL* handle = nullptr;
    curl_slist* headers = nullptr;
    Holder() {
        GlobalInit();
        handle = curl_easy_init();
        if (!handle) throw std::runtime_error("libcurl could not create a handle");
    }
    ~Holder() {
        curl_slist_free_all(headers);
        curl_easy_cleanup(handle);
    }
    Holder(const Holder&) = delete;
    Holder& operator=(const Holder&) = delete;
};

std::optional<std::string> GzipCompress(std::string_view data) {
    Deflater d(Z_DEFAULT_COMPRESSION);
    if (!d.ready) return std::nullopt;
    std::string out;
    out.resize(deflateBound(&d.zs, static_cast<uLong>(std::min<size_t>(data.size(), ULONG_MAX))) + 64);
    size_t produced = 0;
    for (;;) {
        if (d.zs.avail_in == 0 && !data.empty()) {
            const size_t step = std::min<size_t>(data.size(), UINT_MAX);
            d.zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
            d.zs.avail_in = static_cast<uInt>(step);
            data.remove_prefix(step);
        }
        if (produced == out.size()) out.resize(out.size() * 2);
        const size_t room = std::min<size_t>(out.size() - produced, UINT_MAX);
        d.zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
        d.zs.avail_out = static_cast<uInt>(room);
        const int rc = deflate(&d.zs, data.empty() ? Z_FINISH : Z_NO_FLUSH);
        produced += room - d.zs.avail_out;
        if (rc == Z_STREAM_END) break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) return std::nullopt;
    }
    out.resize(produced);
    return out;
}

const char* TransportErrorCode(int curl_code, int os_errno) {
    namespace errc = storage::errc;
    switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return errc::CANNOT_RESOLVE_HOST;
    case CURLE_COULDNT_CONNECT:
        if (os_errno == ECONNREFUSED) return errc::CONNECTION_REFUSED;
        if (os_errno == ETIMEDOUT) return errc::TIMEOUT;
        return errc::NO_NETWORK;
    case CURLE_OPERATION_TIMEDOUT: return errc::TIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE: return errc::TLS_CERTIFICATE;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED: return errc::TLS_FAILED;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING: return errc::CONNECTION_LOST;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: return errc::BAD_SERVER_ADDRESS;
    case CURLE_ABORTED_BY_CALLBACK: return errc::CANCELLED;
    default: return errc::TRANSFER_FAILED;
    }
}

std::string UrlHost(const std::string& url) {
    auto rest = url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
    rest = rest.substr(0, rest.find_first_of("/?#"));
    if (const auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
    if (!rest.empty() && rest.front() == '[') return rest.substr(0, rest.find(']') + 1);
    return rest.substr(0, rest.find(':'));
}

storage::ErrorValue HttpResult::Problem(const std::string& server) const {
    namespace errc = storage::errc;
    storage::ErrorValue out;
    out.params["server"] = server;
    if (transport_error) {
        out.code = TransportErrorCode(transport_error, os_errno);
        if (out.code == errc::CANNOT_RESOLVE_HOST) out.params["host"] = UrlHost(server);
        static const std::map<std::string_view, const char*> words = {
            {errc::CANNOT_RESOLVE_HOST, "cannot find the server's name"},
            {errc::CONNECTION_REFUSED, "the server refused the connection (is it running?)"},
            {errc::NO_NETWORK, "no network connection to the server"},
            {errc::TIMEOUT, "the server did not answer in time"},
            {errc::TLS_CERTIFICATE, "the server's certificate is not the one trusted"},
            {errc::TLS_FAILED, "a secure connection to the server could not be made"},
            {errc::CONNECTION_LOST, "the connection to the server was lost"},
            {errc::BAD_SERVER_ADDRESS, "the server address is not usable"},
            {errc::CANCELLED, "cancelled"},
        };
        const auto it = words.find(out.code);
        out.words =
            std::string("cannot reach ") + server + ": " + (it != words.end() ? it->second : "the transfer failed");
        return out;
    }
    out.params["status"] = static_cast<int64_t>(status);
    const auto json = storage::ParseUntrustedJsonOrDiscard<nlohmann::ordered_json>(body);
    std::string code;
    if (!json.is_discarded() && json.is_object() && json.contains("code") && json["code"].is_string())
        code = json["code"].get<std::string>();
    if (!code.empty() && storage::FindErrorCode(code)) {
        out.code = code;
        if (json.contains("params") && json["params"].is_object())
            for (auto it = json["params"].begin(); it != json["params"].end(); ++it)
                if (!out.params.contains(it.key())) out.params[it.key()] = it.value();
    } else {
        out.code = status >= 500 ? errc::SERVER_ERROR : errc::SERVER_REFUSED;
    }
    out.words = ErrorText();
    return out;
}

std::string HttpResult::ErrorText() const {
    if (transport_error) return transport_text;
    const auto json = storage::ParseUntrustedJsonOrDiscard<nlohmann::json>(body);
    if (!json.is_discarded() && json.is_object() && json.contains("error") && json["error"].is_string())
        return "server answered " + std::to_string(status) + ": " + json["error"].get<std::string>();
    return "server answered " + std::to_string(status);
}

HttpClient::HttpClient(HttpOptions options) : m_holder(std::make_unique<Holder>()), m_options(std::move(options)) {}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

HttpResult HttpClient::Get(const std::string& url, const std::string& bearer) {
    return Perform("GET", url, nullptr, bearer);
}

HttpResult HttpClient::Post(const std::string& url, const std::string& json, const std::string& bearer) {
    return Perform("POST", url, &json, bearer);
}

HttpResult HttpClient::PostCompressed(const std::string& url, const std::string& json, const std::string& bearer) {
    if (m_options.compress && !m_identity_only) {
        // Field notes in Spanish or French shrink about four times; a body of
        // a few bytes grows by gzip's header, and is then sent as it is.
        if (const auto packed = GzipCompress(json); packed && packed->size() < json.size()) {
            auto result = Perform("POST", url, &*packed, bearer, nullptr, "gzip");
            if (!RefusedEncoding(result)) return result;
            m_identity_only = true;
        }
    }
    return Perform("POST", url, &json, bearer);
}

HttpResult HttpClient::PostEncoded(const std::string& url, const std::string& body,
                                   const std::string& content_encoding, const std::string& bearer) {
    return Perform("POST", url, &body, bearer, nullptr, content_encoding);
}

HttpResult HttpClient::Put(const std::string& url, const std::string& bytes, const std::string& bearer) {
    return Perform("PUT", url, &bytes, bearer);
}

HttpResult HttpClient::GetStreaming(const std::string& url, const std::string& bearer, const StreamSink& sink) {
    return Perform("GET", url, nullptr, bearer, &sink);
}

HttpResult HttpClient::Perform(const std::string& method, const std::string& url, const std::string* body,
                               const std::string& bearer, const StreamSink* sink,
                               const std::string& content_encoding) {
    CURL* h = m_holder->handle;
    curl_easy_reset(h);
    curl_slist_free_all(m_holder->headers);
    m_holder->headers = nullptr;
    HttpResult result;
    char error_buffer[CURL_ERROR_SIZE] = {0};

    // Explicit defaults, all in one place.
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, m_options.connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, m_options.total_timeout_s);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, m_options.stall_timeout_s);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    const std::string local = "host!" + m_options.local_address;
    curl_easy_setopt(h, CURLOPT_INTERFACE, m_options.local_address.empty() ? nullptr : local.c_str());
    // gzip only: offering every encoding lets the server pick Brotli at its
    // slowest setting, which made pulls an order of magnitude slower.
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_blob ca{};
    if (!m_options.ca_pem.empty()) {
        ca.data = const_cast<char*>(m_options.ca_pem.data());
        ca.len = m_options.ca_pem.size();
        ca.flags = CURL_BLOB_COPY;
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    }
    StreamTarget target{h, sink, &result.body, &result.headers};
    if (sink) {
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Stream);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &target);
    } else {
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &result.body);
    }
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, Header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &result.headers);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, Progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(m_options.cancel));

    m_holder->headers = curl_slist_append(m_holder->headers, "Accept: application/json");
    if (!bearer.empty())
        m_holder->headers = curl_slist_append(m_holder->headers, ("Authorization: Bearer " + bearer).c_str());
    if (!bearer.empty() && m_request_header) {
        // Asked now, not when the client was made: it tells how things
        // stand as this very request leaves.
        const auto line = m_request_header();
        if (!line.empty()) m_holder->headers = curl_slist_append(m_holder->headers, line.c_str());
    }
    if (body) {
        m_holder->headers =
            curl_slist_append(m_holder->headers, method == "PUT" ? "Content-Type: application/octet-stream"
                                                                 : "Content-Type: application/json");
        if (!content_encoding.empty())
            m_holder->headers =
                curl_slist_append(m_holder->headers, ("Content-Encoding: " + content_encoding).c_str());
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        if (method == "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    } else if (method == "GET") {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, m_holder->headers);

    const CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        result.transport_error = static_cast<int>(rc);
        long os_errno = 0;
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
        result.os_errno = static_cast<int>(os_errno);
        result.transport_text =
            std::string("cannot reach ") + url + ": " + (error_buffer[0] ? error_buffer : curl_easy_strerror(rc));
        result.body.clear();
        return result;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &result.status);
    return result;
}

} // namespace escucha::sync
