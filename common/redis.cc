#include "common/redis.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cctype>
#include <charconv>

#include "common/log.h"
#include "common/strings.h"

namespace initkit::redis {
namespace {

struct timeval ToTimeval(std::chrono::milliseconds d) {
  if (d.count() <= 0) d = std::chrono::milliseconds(1);
  struct timeval tv;
  tv.tv_sec = d.count() / 1000;
  tv.tv_usec = (d.count() % 1000) * 1000;
  return tv;
}

bool ParseInt(std::string_view s, int lo, int hi, int* out) {
  if (s.empty()) return false;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
      };
      int h = hex(in[i + 1]), l = hex(in[i + 2]);
      if (h < 0 || l < 0) return false;
      out->push_back(static_cast<char>(h * 16 + l));
      i += 2;
    } else {
      out->push_back(in[i]);
    }
  }
  return true;
}

// "host:port", "[v6]:port" or "host" (default port).
bool ParseHostPort(std::string_view s, int default_port, std::string* host, int* port) {
  *port = default_port;
  if (s.empty()) return false;
  if (s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return false;
    *host = std::string(s.substr(1, close - 1));
    std::string_view rest = s.substr(close + 1);
    if (rest.empty()) return !host->empty();
    if (rest[0] != ':') return false;
    return ParseInt(rest.substr(1), 1, 65535, port) && !host->empty();
  }
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) {
    *host = std::string(s);
    return true;
  }
  *host = std::string(s.substr(0, colon));
  return !host->empty() && ParseInt(s.substr(colon + 1), 1, 65535, port);
}

std::string HostPort(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
  }
  return out;
}

}  // namespace

std::string Url::Redacted() const {
  std::string auth;
  if (!password.empty()) auth = username + ":***@";
  std::string text;
  switch (kind) {
    case Kind::kTcp:
      text = "redis://" + auth + HostPort(host, port) + "/" + std::to_string(database);
      break;
    case Kind::kUnix:
      text = "unix://" + socket_path + "?database=" + std::to_string(database);
      break;
    case Kind::kSentinel: {
      text = "sentinel://" + auth;
      for (size_t i = 0; i < sentinels.size(); ++i) {
        if (i > 0) text += ",";
        text += HostPort(sentinels[i].first, sentinels[i].second);
      }
      text += "/" + master_name + "?database=" + std::to_string(database);
      break;
    }
  }
  if (!prefix.empty()) {
    text += (text.find('?') == std::string::npos ? "?prefix=" : "&prefix=") + prefix;
  }
  return log::Redact(text);
}

Status ParseUrl(const std::string& text, Url* out) {
  Url url;
  // The raw text may hold a password: show only its scheme, and that only
  // when it looks like one (text before a later "://" could be "user:pw@h").
  auto shown_scheme = [&]() -> std::string {
    size_t p = text.find("://");
    std::string scheme = p == std::string::npos ? "" : text.substr(0, p);
    if (scheme.empty()) return "no scheme";
    if (scheme.size() > 16 ||
        scheme.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") != std::string::npos) {
      return "unrecognised scheme";
    }
    return scheme;
  };
  auto bad = [&](const std::string& why) {
    return Status::Usage("redis URL (" + shown_scheme() + "://...): " + why);
  };
  // With credentials in the URL, any part cut from it may hold some of them
  // (an unescaped '/' or '?' in a password moves the cuts): never echo one.
  const bool has_credentials = text.find('@') != std::string::npos;
  auto quote = [&](const std::string& part) {
    return has_credentials ? std::string("(not shown: the URL holds credentials)")
                           : "'" + part + "'";
  };
  size_t sep = text.find("://");
  if (sep == std::string::npos) {
    return bad("expected tcp://, redis://, unix:// or sentinel://");
  }
  std::string scheme = text.substr(0, sep);
  scheme = ToLower(scheme);
  std::string rest = text.substr(sep + 3);
  std::string query;
  if (size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest.resize(q);
  }
  if (scheme == "unix") {
    url.kind = Url::Kind::kUnix;
    if (rest.empty() || rest[0] != '/') return bad("unix:// needs an absolute socket path");
    url.socket_path = rest;
  } else if (scheme == "tcp" || scheme == "redis" || scheme == "sentinel") {
    url.kind = scheme == "sentinel" ? Url::Kind::kSentinel : Url::Kind::kTcp;
    std::string authority = rest, path;
    if (size_t slash = rest.find('/'); slash != std::string::npos) {
      authority = rest.substr(0, slash);
      path = rest.substr(slash + 1);
    }
    if (size_t at = authority.rfind('@'); at != std::string::npos) {
      std::string userinfo = authority.substr(0, at);
      authority = authority.substr(at + 1);
      std::string user = userinfo, pass;
      if (size_t colon = userinfo.find(':'); colon != std::string::npos) {
        user = userinfo.substr(0, colon);
        pass = userinfo.substr(colon + 1);
      } else {
        // redis://secret@host: a lone userinfo is the password (as redis-py).
        pass = userinfo;
        user.clear();
      }
      if (!PercentDecode(user, &url.username) || !PercentDecode(pass, &url.password)) {
        return bad("bad %-escape in the credentials");
      }
    }
    if (url.kind == Url::Kind::kSentinel) {
      size_t start = 0;
      while (start <= authority.size()) {
        size_t comma = authority.find(',', start);
        std::string one =
            authority.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        std::string h;
        int p = 26379;
        if (!ParseHostPort(one, 26379, &h, &p)) return bad("bad sentinel address " + quote(one));
        url.sentinels.emplace_back(h, p);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      if (path.empty()) return bad("sentinel:// needs the master name as its path");
      if (!PercentDecode(path, &url.master_name)) return bad("bad %-escape in the master name");
    } else {
      if (!ParseHostPort(authority, 6379, &url.host, &url.port)) {
        return bad("bad host:port " + quote(authority));
      }
      while (!path.empty() && path.back() == '/') path.pop_back();
      if (!path.empty() && !ParseInt(path, 0, 1 << 20, &url.database)) {
        return bad("database " + quote(path) + " is not a number");
      }
    }
  } else {
    return bad("unsupported scheme (tcp, redis, unix, sentinel)");
  }
  size_t start = 0;
  while (!query.empty() && start <= query.size()) {
    size_t amp = query.find('&', start);
    std::string pair =
        query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    start = amp == std::string::npos ? query.size() + 1 : amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = pair.substr(0, eq);
    std::string value;
    if (!PercentDecode(eq == std::string::npos ? "" : pair.substr(eq + 1), &value)) {
      return bad("bad %-escape in query parameter " + quote(key));
    }
    if (key == "prefix") {
      url.prefix = value;
    } else if (key == "database" || key == "db") {
      if (!ParseInt(value, 0, 1 << 20, &url.database)) {
        return bad("database " + quote(value) + " is not a number");
      }
    } else if (key == "password" || key == "auth") {
      url.password = value;
    } else if (key == "username" || key == "user") {
      url.username = value;
    } else if (key == "sentinel_password") {
      url.sentinel_password = value;
    }
    // Anything else (timeout, persistent, weight, read_timeout, ...) belongs
    // to the PHP client libraries and means nothing here.
  }
  log::AddSecret(url.password);
  log::AddSecret(url.sentinel_password);
  *out = std::move(url);
  return Status::Ok();
}

std::string MatchPatternForPrefix(const std::string& prefix) {
  std::string out;
  for (char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('*');
  return out;
}

Client::~Client() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

Status Client::ConnectTcp(const std::string& host, int port, std::chrono::milliseconds timeout,
                          std::unique_ptr<Client>* out) {
  std::unique_ptr<Client> c(new Client());
  c->where_ = HostPort(host, port);
  c->ctx_ = redisConnectWithTimeout(host.c_str(), port, ToTimeval(timeout));
  if (c->ctx_ == nullptr) return Status::Failed("redis " + c->where_ + ": out of memory");
  if (c->ctx_->err != 0) {
    return Status::NotReady("connecting to redis " + c->where_ + ": " + c->ctx_->errstr);
  }
  redisSetTimeout(c->ctx_, ToTimeval(timeout));
  *out = std::move(c);
  return Status::Ok();
}

Status ResolveSentinel(const Url& url, std::chrono::milliseconds timeout, std::string* host,
                       int* port) {
  std::string errors;
  for (const auto& [shost, sport] : url.sentinels) {
    std::unique_ptr<Client> s;
    Status st = Client::ConnectTcp(shost, sport, timeout, &s);
    Reply r;
    if (st.ok() && !url.sentinel_password.empty()) {
      st = s->Command({"AUTH", url.sentinel_password}, &r);
    }
    if (st.ok()) st = s->Command({"SENTINEL", "get-master-addr-by-name", url.master_name}, &r);
    if (st.ok()) {
      if (r.type == Reply::Type::kArray && r.elements.size() == 2 &&
          ParseInt(r.elements[1].str, 1, 65535, port)) {
        *host = r.elements[0].str;
        return Status::Ok();
      }
      st = Status::NotReady("sentinel " + HostPort(shost, sport) + " does not know master '" +
                            url.master_name + "'");
    }
    if (!errors.empty()) errors += "; ";
    errors += st.message();
  }
  return Status::NotReady("no sentinel of " + url.Redacted() +
                          " gave the master's address: " + log::Redact(errors));
}

Status Client::Connect(const Url& url, std::chrono::milliseconds timeout,
                       std::unique_ptr<Client>* out) {
  std::unique_ptr<Client> c;
  if (url.kind == Url::Kind::kUnix) {
    c.reset(new Client());
    c->where_ = "unix:" + url.socket_path;
    c->ctx_ = redisConnectUnixWithTimeout(url.socket_path.c_str(), ToTimeval(timeout));
    if (c->ctx_ == nullptr) return Status::Failed("redis " + c->where_ + ": out of memory");
    if (c->ctx_->err != 0) {
      return Status::NotReady("connecting to redis " + c->where_ + ": " + c->ctx_->errstr);
    }
    redisSetTimeout(c->ctx_, ToTimeval(timeout));
  } else {
    std::string host = url.host;
    int port = url.port;
    if (url.kind == Url::Kind::kSentinel) {
      INITKIT_RETURN_IF_ERROR(ResolveSentinel(url, timeout, &host, &port));
    }
    INITKIT_RETURN_IF_ERROR(ConnectTcp(host, port, timeout, &c));
  }
  Reply r;
  if (!url.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!url.username.empty()) auth.push_back(url.username);
    auth.push_back(url.password);
    INITKIT_RETURN_IF_ERROR(c->Command(auth, &r));
  }
  if (url.database != 0) {
    INITKIT_RETURN_IF_ERROR(c->Command({"SELECT", std::to_string(url.database)}, &r));
  }
  if (url.kind == Url::Kind::kSentinel) {
    // Sentinel may name a master that was just demoted; deleting on a
    // replica fails anyway, but say why.
    Status st = c->Command({"ROLE"}, &r);
    if (st.ok() && r.type == Reply::Type::kArray && !r.elements.empty() &&
        r.elements[0].str != "master") {
      return Status::NotReady("redis " + c->where_ + " named by sentinel for '" + url.master_name +
                              "' is a " + r.elements[0].str + ", not a master");
    }
  }
  *out = std::move(c);
  return Status::Ok();
}

Status Client::Command(const std::vector<std::string>& argv, Reply* reply) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(args.size()), args.data(), lens.data()));
  std::string name = argv.empty() ? "" : argv[0];
  if (r == nullptr) {
    return Status::NotReady("redis " + where_ + ": " + name + ": " +
                            (ctx_->err != 0 ? ctx_->errstr : "no reply"));
  }
  *reply = Convert(r);
  freeReplyObject(r);
  if (reply->type == Reply::Type::kError) {
    return Status::Failed("redis " + where_ + ": " + name + ": " + log::Redact(reply->str));
  }
  return Status::Ok();
}

Status Client::DeleteByPrefix(const std::string& prefix, int batch, uint64_t* deleted) {
  *deleted = 0;
  if (prefix.empty()) {
    return Status::Usage("refusing to delete every key of redis " + where_ + ": empty prefix");
  }
  const std::string pattern = MatchPatternForPrefix(prefix);
  const std::string count = std::to_string(batch > 0 ? batch : 1000);
  std::string cursor = "0";
  bool use_unlink = true;
  do {
    Reply r;
    INITKIT_RETURN_IF_ERROR(Command({"SCAN", cursor, "MATCH", pattern, "COUNT", count}, &r)
                                .Annotate("scanning for keys under prefix '" + prefix + "'"));
    if (r.type != Reply::Type::kArray || r.elements.size() != 2 ||
        r.elements[1].type != Reply::Type::kArray) {
      return Status::Failed("redis " + where_ + ": unexpected SCAN reply");
    }
    cursor = r.elements[0].str;
    if (!r.elements[1].elements.empty()) {
      std::vector<std::string> cmd = {use_unlink ? "UNLINK" : "DEL"};
      for (auto& k : r.elements[1].elements) cmd.push_back(std::move(k.str));
      Reply d;
      Status st = Command(cmd, &d);
      if (!st.ok() && use_unlink && d.type == Reply::Type::kError &&
          d.str.find("unknown command") != std::string::npos) {
        use_unlink = false;  // Redis < 4
        cmd[0] = "DEL";
        st = Command(cmd, &d);
      }
      INITKIT_RETURN_IF_ERROR(st.Annotate("deleting keys under prefix '" + prefix + "'"));
      *deleted += static_cast<uint64_t>(d.integer);
    }
  } while (cursor != "0");
  return Status::Ok();
}

}  // namespace initkit::redis
