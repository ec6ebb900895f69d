// Redis access through hiredis: the URL forms the seed's config uses,
// Sentinel discovery, and prefix deletion with SCAN + UNLINK.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

struct redisContext;

namespace initkit::redis {

/// A parsed Redis URL. Accepted forms:
///   tcp://host:port[?prefix=P&database=N&password=S]   (Predis / phpredis)
///   redis://[[user]:password@]host[:port][/db][?prefix=P]
///   unix:///path/to/redis.sock[?database=N&prefix=P&password=S]
///   sentinel://[:password@]host:26379[,host2:26379...]/master-name[?database=N&prefix=P
///              &sentinel_password=S]
/// Unknown query parameters of the client libraries (timeout, persistent,
/// weight, ...) are accepted and ignored.
struct Url {
  enum class Kind { kTcp, kUnix, kSentinel };
  Kind kind = Kind::kTcp;
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string socket_path;                             // kUnix
  std::vector<std::pair<std::string, int>> sentinels;  // kSentinel
  std::string master_name;                             // kSentinel
  std::string sentinel_password;                       // kSentinel
  std::string username;                                // ACL user (redis://user:pw@)
  std::string password;
  int database = 0;
  std::string prefix;  // the app's key prefix

  /// The URL for messages: the passwords replaced by "***".
  std::string Redacted() const;
};

/// Parses `text`. Errors are Usage statuses naming the URL (redacted) and the
/// part that is wrong. Passwords are registered with log::AddSecret.
Status ParseUrl(const std::string& text, Url* out);

/// `prefix` with the glob characters of SCAN MATCH (* ? [ ] \) escaped, then "*".
std::string MatchPatternForPrefix(const std::string& prefix);

/// One reply, flattened enough for our commands.
struct Reply {
  enum class Type { kNil, kString, kInteger, kArray, kStatus, kError };
  Type type = Type::kNil;
  std::string str;
  long long integer = 0;
  std::vector<Reply> elements;
};

/// One connection. Errors: NotReady for connection failures (refused,
/// timeout, a master Sentinel does not know yet); Failed for error replies.
class Client {
 public:
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Connects (via Sentinel when the URL says so), authenticates, SELECTs
  /// the database, and checks the server is a master when found by Sentinel.
  static Status Connect(const Url& url, std::chrono::milliseconds timeout,
                        std::unique_ptr<Client>* out);
  /// Connects to one host:port only (used for Sentinel queries too).
  static Status ConnectTcp(const std::string& host, int port, std::chrono::milliseconds timeout,
                           std::unique_ptr<Client>* out);

  /// Sends argv (binary-safe) and reads the reply. An error reply is Failed.
  Status Command(const std::vector<std::string>& argv, Reply* reply);

  /// Deletes every key starting with `prefix` (taken literally): SCAN with
  /// MATCH/COUNT, UNLINK each batch. Never KEYS or FLUSH*. An empty prefix is
  /// refused (Usage). *deleted counts the keys removed.
  Status DeleteByPrefix(const std::string& prefix, int batch, uint64_t* deleted);

  const std::string& where() const { return where_; }

 private:
  Client() = default;
  redisContext* ctx_ = nullptr;
  std::string where_;  // host:port for messages
};

/// Asks the Sentinels of `url` in turn for the master's address
/// (SENTINEL get-master-addr-by-name). NotReady if none knows it.
Status ResolveSentinel(const Url& url, std::chrono::milliseconds timeout, std::string* host,
                       int* port);

}  // namespace initkit::redis
