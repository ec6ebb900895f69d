#include "common/log.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace initkit::log {
namespace {

constexpr std::string_view kMask = "[REDACTED]";

struct State {
  std::mutex mu;
  std::string tool = "initkit";
  Format format = Format::kJson;
  Level level = Level::kInfo;
  std::shared_ptr<spdlog::logger> logger;
};

State& GetState() {
  static State* state = new State();  // never destroyed: logging works during exit
  return *state;
}

struct Secrets {
  std::shared_mutex mu;
  std::vector<std::string> values;  // longest first, so overlapping secrets mask fully
};

Secrets& GetSecrets() {
  static Secrets* s = new Secrets();
  return *s;
}

std::shared_ptr<spdlog::logger> MakeLogger() {
  // spdlog writes the finished line; we format it ourselves ("%v") because
  // the record's shape (JSON object, redaction) is ours, not spdlog's pattern.
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("initkit", sink);
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::trace);
  logger->flush_on(spdlog::level::trace);
  return logger;
}

// A JSON string literal of `s` (quotes included), bytes that are not UTF-8
// replaced the way DumpJson replaces them.
std::string JsonString(std::string_view s) {
  return nlohmann::json(std::string(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A literal field's value ("42", "true", "1.5", "null") as JSON; anything
// else a literal cannot hold stays a string.
nlohmann::ordered_json LiteralValue(const std::string& v) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(v, nullptr, false);
  if (j.is_discarded() || j.is_structured() || j.is_string()) return v;
  return j;
}

bool IsWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - secs).count();
  time_t t = std::chrono::system_clock::to_time_t(secs);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  (void)std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      static_cast<int>(ms));
  return buf;
}

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

bool NeedsQuoting(std::string_view v) {
  if (v.empty()) return true;
  return std::any_of(v.begin(), v.end(), [](unsigned char c) {
    return c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f;
  });
}

}  // namespace

Field::Field(std::string k, double v) : key(std::move(k)), literal(true) {
  if (!std::isfinite(v)) {
    value = "null";
    return;
  }
  char buf[64];
  (void)std::snprintf(buf, sizeof buf, "%.6g", v);
  value = buf;
}

void Init(std::string tool, Format format, Level level) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.tool = std::move(tool);
  s.format = format;
  s.level = level;
  if (!s.logger) s.logger = MakeLogger();
}

Format DefaultFormat() { return isatty(STDERR_FILENO) ? Format::kText : Format::kJson; }

bool ParseLevel(std::string_view text, Level* out) {
  if (text == "debug") {
    *out = Level::kDebug;
  } else if (text == "info") {
    *out = Level::kInfo;
  } else if (text == "warn" || text == "warning") {
    *out = Level::kWarn;
  } else if (text == "error") {
    *out = Level::kError;
  } else {
    return false;
  }
  return true;
}

bool Enabled(Level level) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  return level >= s.level;
}

void Write(Level level, std::string_view msg, const Fields& fields) {
  State& s = GetState();
  std::shared_ptr<spdlog::logger> logger;
  std::string tool;
  Format format;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (level < s.level) return;
    if (!s.logger) s.logger = MakeLogger();
    logger = s.logger;
    tool = s.tool;
    format = s.format;
  }
  std::string line;
  if (format == Format::kJson) {
    nlohmann::ordered_json record;
    record["ts"] = Timestamp();
    record["level"] = LevelName(level);
    record["tool"] = tool;
    record["msg"] = Redact(msg);
    for (const Field& f : fields) {
      record[f.key] = f.literal ? LiteralValue(f.value) : nlohmann::ordered_json(Redact(f.value));
    }
    line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = Timestamp() + " " + LevelName(level) + " " + tool + ": " + ToValidUtf8(Redact(msg));
    for (const Field& f : fields) {
      std::string v = f.literal ? f.value : ToValidUtf8(Redact(f.value));
      line += " " + ToValidUtf8(f.key) + "=";
      line += (!f.literal && NeedsQuoting(v)) ? JsonString(v) : v;
    }
  }
  logger->log(spdlog::level::info, line);
}

void AddSecret(std::string_view value) {
  if (value.empty()) return;
  Secrets& s = GetSecrets();
  std::unique_lock lock(s.mu);
  if (std::find(s.values.begin(), s.values.end(), value) != s.values.end()) return;
  s.values.emplace_back(value);
  std::sort(s.values.begin(), s.values.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redact(std::string_view text) {
  Secrets& s = GetSecrets();
  std::shared_lock lock(s.mu);
  std::string out(text);
  for (const std::string& secret : s.values) {
    const bool anywhere = secret.size() >= kMinSubstringSecret;
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      size_t end = pos + secret.size();
      bool alone =
          (pos == 0 || !IsWordByte(out[pos - 1])) && (end == out.size() || !IsWordByte(out[end]));
      if (anywhere || alone) {
        out.replace(pos, secret.size(), kMask);
        pos += kMask.size();
      } else {
        ++pos;
      }
    }
  }
  return out;
}

nlohmann::json RedactJson(const nlohmann::json& doc) {
  if (doc.is_string()) return Redact(doc.get_ref<const std::string&>());
  if (doc.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : doc.items()) out[key] = RedactJson(value);
    return out;
  }
  if (doc.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& value : doc) out.push_back(RedactJson(value));
    return out;
  }
  return doc;
}

void ClearSecretsForTest() {
  Secrets& s = GetSecrets();
  std::unique_lock lock(s.mu);
  s.values.clear();
}

}  // namespace initkit::log
