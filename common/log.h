// Structured logging to stderr (JSON lines or text) with secret redaction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace initkit::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kJson, kText };

/// One key/value of a record; numbers and bools stay JSON literals.
struct Field {
  Field(std::string k, std::string v) : key(std::move(k)), value(std::move(v)) {}
  Field(std::string k, const char* v) : key(std::move(k)), value(v ? v : "") {}
  Field(std::string k, std::string_view v) : key(std::move(k)), value(v) {}
  Field(std::string k, bool v) : key(std::move(k)), value(v ? "true" : "false"), literal(true) {}
  Field(std::string k, int v) : key(std::move(k)), value(std::to_string(v)), literal(true) {}
  Field(std::string k, unsigned v) : key(std::move(k)), value(std::to_string(v)), literal(true) {}
  Field(std::string k, long v) : key(std::move(k)), value(std::to_string(v)), literal(true) {}
  Field(std::string k, unsigned long v)
      : key(std::move(k)), value(std::to_string(v)), literal(true) {}
  Field(std::string k, long long v) : key(std::move(k)), value(std::to_string(v)), literal(true) {}
  Field(std::string k, unsigned long long v)
      : key(std::move(k)), value(std::to_string(v)), literal(true) {}
  Field(std::string k, double v);
  std::string key;
  std::string value;
  bool literal = false;  // emitted unquoted in JSON (numbers, bools)
};
using Fields = std::vector<Field>;

/// Sets the tool name, format and threshold. Safe to call again (tests).
void Init(std::string tool, Format format, Level level);
/// JSON unless stderr is a terminal.
Format DefaultFormat();
bool ParseLevel(std::string_view text, Level* out);
bool Enabled(Level level);

/// Writes one record. A JSON record is one line of valid JSON whatever the
/// bytes: text that is not UTF-8 is replaced as DumpJson does (U+FFFD).
/// Registered secrets are masked in the message and in string field values
/// (Redact); keys and field names are never rewritten.
void Write(Level level, std::string_view msg, const Fields& fields);
inline void Debug(std::string_view msg, const Fields& f = {}) { Write(Level::kDebug, msg, f); }
inline void Info(std::string_view msg, const Fields& f = {}) { Write(Level::kInfo, msg, f); }
inline void Warn(std::string_view msg, const Fields& f = {}) { Write(Level::kWarn, msg, f); }
inline void Error(std::string_view msg, const Fields& f = {}) { Write(Level::kError, msg, f); }

/// Registers a credential value: from now on it is masked as "[REDACTED]" in
/// every record and in Redact(). Empty values are ignored.
void AddSecret(std::string_view value);

/// `text` with every registered secret masked. Use it for anything a tool
/// prints on stdout that could hold one (error texts, dry-run output).
/// Secrets of kMinSubstringSecret bytes or more are masked wherever they
/// occur. Shorter ones (a 1-character password is legal, if unwise) are
/// masked where they stand alone: the whole text, or bounded on both sides
/// by a byte that is not a letter or digit ("password=ab," but not "about"):
/// masking every "a" would make the logs unreadable and reveal nothing a
/// reader could not guess, since a short secret's letters occur anyway.
std::string Redact(std::string_view text);
constexpr size_t kMinSubstringSecret = 4;

/// A copy of `doc` with Redact applied to every string value, at any depth.
/// Object keys are left alone: a key that happens to equal a secret is a
/// field name, not the secret (use this, not Redact(dump), for JSON output).
nlohmann::json RedactJson(const nlohmann::json& doc);
/// Forgets all secrets (tests only).
void ClearSecretsForTest();

}  // namespace initkit::log
