// HttpClient: libcurl with timeouts, TLS options, body cap and clear errors.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace initkit {

/// One HTTP request. TLS material may be given as files or PEM text.
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::chrono::milliseconds timeout{2000};        // whole request
  std::string ca_file;                            // verify the server against this CA file
  std::string ca_pem;                             // ... or this PEM text
  std::string client_cert_file, client_key_file;  // mutual TLS
  std::string client_cert_pem, client_key_pem;
  // Verify the server certificate for (and send as SNI) this name instead of
  // the URL's host; the connection still goes to the URL's host and the Host
  // header stays the URL's (client-go's TLSClientConfig.ServerName).
  std::string tls_server_name;
  // "http://", "https://" or "socks5://" proxy; "" = curl's default, the
  // environment's HTTPS_PROXY/HTTP_PROXY/NO_PROXY.
  std::string proxy;
  bool insecure = false;                 // skip verification (only behind an explicit flag)
  std::size_t max_body = 1024UL * 1024;  // larger bodies are refused
};

/// A completed exchange: any status code, its headers and body.
struct HttpResponse {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  /// The first header of that (case-insensitive) name, or "".
  std::string Header(const std::string& name) const;
};

/// HttpClient performs requests. Transport failures (DNS, refused, reset,
/// TLS, timeout) come back as NotReady statuses with curl's reason and the
/// URL, so callers may retry them; a body over max_body is Failed. Any HTTP
/// status is a success at this level: callers judge the code.
class HttpClient {
 public:
  /// reuse_connections=false opens a new connection for every request (so a
  /// Service spreads them over its pods).
  explicit HttpClient(bool reuse_connections = true);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Status Do(const HttpRequest& request, HttpResponse* response);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// URL with any userinfo ("user:pass@") replaced, for messages.
std::string UrlForDisplay(const std::string& url);

/// Percent-encodes `s` for a URL path segment, query value or form body
/// (libcurl's curl_easy_escape: RFC 3986 unreserved characters stay).
std::string UrlEscape(std::string_view s);

}  // namespace initkit
