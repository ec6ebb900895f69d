#include "tools/secrets/spec.h"

#include <map>
#include <set>

#include <nlohmann/json.hpp>

namespace initkit::secrets {

namespace {

using nlohmann::json;

// JSON pointer escaping (RFC 6901) so a key with '/' still names one path.
std::string PathJoin(const std::string& base, const std::string& key) {
  std::string k;
  for (char c : key) {
    if (c == '~') {
      k += "~0";
    } else if (c == '/') {
      k += "~1";
    } else {
      k.push_back(c);
    }
  }
  return base + "/" + k;
}

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  Status Error(const std::string& path, const std::string& why) const {
    return Status::Usage("spec " + source_ + ": " + (path.empty() ? "/" : path) + ": " + why);
  }

  Status CheckObject(const json& j, const std::string& path, const std::set<std::string>& allowed) {
    if (!j.is_object()) return Error(path, "must be an object");
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!allowed.count(it.key())) return Error(PathJoin(path, it.key()), "unknown field");
    }
    return Status::Ok();
  }

  Status GetString(const json& j, const std::string& path, std::string* out) {
    if (!j.is_string()) return Error(path, "must be a string");
    *out = j.get<std::string>();
    return Status::Ok();
  }

  Status GetInt(const json& j, const std::string& path, int lo, int hi, int* out) {
    if (!j.is_number_integer()) return Error(path, "must be an integer");
    long long v = j.get<long long>();
    if (v < lo || v > hi) {
      return Error(path, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    }
    *out = static_cast<int>(v);
    return Status::Ok();
  }

  Status GetStringList(const json& j, const std::string& path, std::vector<std::string>* out) {
    out->clear();
    if (j.is_string()) {
      out->push_back(j.get<std::string>());
      return Status::Ok();
    }
    if (!j.is_array()) return Error(path, "must be a string or an array of strings");
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (!j[i].is_string()) return Error(path + "/" + std::to_string(i), "must be a string");
      out->push_back(j[i].get<std::string>());
    }
    return Status::Ok();
  }

  Status ParseKey(const std::string& name, const json& j, const std::string& path, KeySpec* out) {
    out->name = name;
    INITKIT_RETURN_IF_ERROR(CheckObject(
        j, path, {"generator", "bytes", "length", "bits", "private_key", "public_key"}));
    if (!j.contains("generator")) return Error(path, "missing field \"generator\"");
    GeneratorSpec& g = out->gen;
    INITKIT_RETURN_IF_ERROR(GetString(j["generator"], path + "/generator", &g.generator));
    static const std::map<std::string, std::set<std::string>> kFields = {
        {"hex", {"bytes"}},
        {"base64", {"bytes"}},
        {"base64-of-hex", {"bytes"}},
        {"alnum", {"length"}},
        {"laravel-app-key", {}},
        {"uuid", {}},
        {"rsa-keypair", {"bits", "private_key", "public_key"}},
    };
    auto f = kFields.find(g.generator);
    if (f == kFields.end()) {
      return Error(
          path + "/generator",
          "unknown generator \"" + g.generator +
              "\" (hex, base64, alnum, base64-of-hex, laravel-app-key, rsa-keypair, uuid)");
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() != "generator" && !f->second.count(it.key())) {
        return Error(PathJoin(path, it.key()), "not used by generator \"" + g.generator + "\"");
      }
    }
    if (g.generator == "hex" || g.generator == "base64-of-hex") g.bytes = 16;
    if (g.generator == "base64") g.bytes = 32;
    if (g.generator == "laravel-app-key") g.bytes = 32;
    if (g.generator == "alnum") g.length = 32;
    if (g.generator == "rsa-keypair") g.bits = 2048;
    if (j.contains("bytes")) {
      INITKIT_RETURN_IF_ERROR(GetInt(j["bytes"], path + "/bytes", 8, 1024, &g.bytes));
    }
    if (j.contains("length")) {
      INITKIT_RETURN_IF_ERROR(GetInt(j["length"], path + "/length", 8, 4096, &g.length));
    }
    if (j.contains("bits")) {
      INITKIT_RETURN_IF_ERROR(GetInt(j["bits"], path + "/bits", 2048, 8192, &g.bits));
      if (g.bits % 8 != 0) return Error(path + "/bits", "must be a multiple of 8");
    }
    if (g.generator == "rsa-keypair") {
      for (const char* field : {"private_key", "public_key"}) {
        if (!j.contains(field)) {
          return Error(path, std::string("missing field \"") + field +
                                 "\" (the Secret key the PEM is written to)");
        }
      }
      INITKIT_RETURN_IF_ERROR(GetString(j["private_key"], path + "/private_key", &g.private_key));
      INITKIT_RETURN_IF_ERROR(GetString(j["public_key"], path + "/public_key", &g.public_key));
      if (g.private_key == g.public_key) {
        return Error(path, "private_key and public_key must name different keys");
      }
      for (const auto& [field, key] :
           {std::pair{"private_key", g.private_key}, std::pair{"public_key", g.public_key}}) {
        if (!ValidKeyName(key)) {
          return Error(path + "/" + field, "\"" + key + "\" is not a valid Secret key name");
        }
      }
    } else if (!ValidKeyName(name)) {
      return Error(path, "\"" + name + "\" is not a valid Secret key name ([-._a-zA-Z0-9]+)");
    }
    if (!ValidKeyName(name)) {  // an rsa-keypair's name is a label only, held to the same rule
      return Error(path, "\"" + name + "\" is not a valid entry name ([-._a-zA-Z0-9]+)");
    }
    return Status::Ok();
  }

  static bool ValidKeyName(const std::string& k) {
    if (k.empty() || k.size() > 253 || k == "." || k == "..") return false;
    for (char c : k) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
        return false;
      }
    }
    return true;
  }

  Status ParseKeys(const json& j, const std::string& path, std::vector<KeySpec>* out) {
    if (!j.is_object()) return Error(path, "must be an object of key name -> generator");
    for (auto it = j.begin(); it != j.end(); ++it) {
      KeySpec k;
      INITKIT_RETURN_IF_ERROR(ParseKey(it.key(), it.value(), PathJoin(path, it.key()), &k));
      out->push_back(std::move(k));
    }
    return Status::Ok();
  }

  // MariaDB/MySQL account names as an operator puts them in CREATE USER:
  // kept to characters that need no quoting anywhere (SQL, YAML, env).
  static bool ValidUserName(const std::string& u) {
    if (u.empty() || u.size() > 80) return false;
    for (char c : u) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
        return false;
      }
    }
    return true;
  }

  Status GetPair(const json& j, const std::string& path, std::string out[2]) {
    if (!j.is_array() || j.size() != 2) return Error(path, "must be an array of two strings");
    for (int i = 0; i < 2; ++i) {
      INITKIT_RETURN_IF_ERROR(GetString(j[i], path + "/" + std::to_string(i), &out[i]));
    }
    if (out[0] == out[1]) return Error(path, "the two entries must differ");
    return Status::Ok();
  }

  Status ParseAlternating(const std::string& name, const json& j, const std::string& path,
                          AlternatingUsersSpec* a) {
    a->name = name;
    if (!ValidKeyName(name)) {
      return Error(path, "\"" + name + "\" is not a valid entry name ([-._a-zA-Z0-9]+)");
    }
    INITKIT_RETURN_IF_ERROR(CheckObject(
        j, path,
        {"users", "password-keys", "user-key", "password-key", "generator", "bytes", "length"}));
    for (const char* field : {"users", "password-keys", "user-key", "password-key"}) {
      if (!j.contains(field)) return Error(path, std::string("missing field \"") + field + "\"");
    }
    INITKIT_RETURN_IF_ERROR(GetPair(j["users"], path + "/users", a->users));
    for (int i = 0; i < 2; ++i) {
      if (!ValidUserName(a->users[i])) {
        return Error(path + "/users/" + std::to_string(i),
                     "\"" + a->users[i] +
                         "\" is not a database user name ([A-Za-z0-9_.-], 1 to 80 characters)");
      }
    }
    INITKIT_RETURN_IF_ERROR(GetPair(j["password-keys"], path + "/password-keys", a->password_keys));
    INITKIT_RETURN_IF_ERROR(GetString(j["user-key"], path + "/user-key", &a->user_key));
    INITKIT_RETURN_IF_ERROR(GetString(j["password-key"], path + "/password-key", &a->password_key));
    const std::pair<std::string, const std::string*> keys[] = {
        {path + "/password-keys/0", &a->password_keys[0]},
        {path + "/password-keys/1", &a->password_keys[1]},
        {path + "/user-key", &a->user_key},
        {path + "/password-key", &a->password_key}};
    for (const auto& [p, key] : keys) {
      if (!ValidKeyName(*key)) return Error(p, "\"" + *key + "\" is not a valid Secret key name");
    }
    // The same key twice inside one entry is caught by the spec-wide check.
    GeneratorSpec& g = a->gen;
    g.generator = "alnum";
    if (j.contains("generator")) {
      INITKIT_RETURN_IF_ERROR(GetString(j["generator"], path + "/generator", &g.generator));
    }
    static const std::map<std::string, std::string> kSize = {
        {"hex", "bytes"}, {"base64", "bytes"}, {"base64-of-hex", "bytes"}, {"alnum", "length"}};
    auto size = kSize.find(g.generator);
    if (size == kSize.end()) {
      return Error(path + "/generator", "unknown password generator \"" + g.generator +
                                            "\" (alnum, hex, base64, base64-of-hex)");
    }
    for (const char* field : {"bytes", "length"}) {
      if (j.contains(field) && size->second != field) {
        return Error(path + "/" + field, "not used by generator \"" + g.generator + "\"");
      }
    }
    g.bytes = g.generator == "base64" ? 32 : 16;
    g.length = 32;
    if (j.contains("bytes")) {
      INITKIT_RETURN_IF_ERROR(GetInt(j["bytes"], path + "/bytes", 8, 1024, &g.bytes));
    }
    if (j.contains("length")) {
      INITKIT_RETURN_IF_ERROR(GetInt(j["length"], path + "/length", 8, 4096, &g.length));
    }
    return Status::Ok();
  }

  Status ParseKeycloak(const json& j, const std::string& path, KeycloakSpec* k) {
    INITKIT_RETURN_IF_ERROR(CheckObject(
        j, path,
        {"enabled", "url", "admin-realm", "admin-client-id", "admin-client-secret-file", "realm",
         "client-id", "redirect-uri", "web-origin", "root-url", "secret", "ca-file"}));
    k->enabled = true;
    if (j.contains("enabled")) {
      if (!j["enabled"].is_boolean()) return Error(path + "/enabled", "must be true or false");
      k->enabled = j["enabled"].get<bool>();
    }
    const std::pair<const char*, std::string*> strings[] = {
        {"url", &k->url},
        {"admin-realm", &k->admin_realm},
        {"admin-client-id", &k->admin_client_id},
        {"admin-client-secret-file", &k->admin_client_secret_file},
        {"realm", &k->realm},
        {"client-id", &k->client_id},
        {"root-url", &k->root_url},
        {"secret", &k->secret},
        {"ca-file", &k->ca_file},
    };
    for (const auto& [name, dst] : strings) {
      if (j.contains(name)) INITKIT_RETURN_IF_ERROR(GetString(j[name], PathJoin(path, name), dst));
    }
    if (j.contains("redirect-uri")) {
      INITKIT_RETURN_IF_ERROR(
          GetStringList(j["redirect-uri"], path + "/redirect-uri", &k->redirect_uris));
    }
    if (j.contains("web-origin")) {
      INITKIT_RETURN_IF_ERROR(
          GetStringList(j["web-origin"], path + "/web-origin", &k->web_origins));
    }
    return Status::Ok();
  }

  Status Parse(std::string_view text, Spec* out) {
    json j;
    try {
      j = json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
      return Status::Usage("spec " + source_ + ": not valid JSON at byte " +
                           std::to_string(e.byte) + ": " + e.what());
    } catch (const json::exception& e) {  // out_of_range.406: a number beyond a double
      return Status::Usage("spec " + source_ + ": not valid JSON: " + e.what());
    }
    INITKIT_RETURN_IF_ERROR(CheckObject(
        j, "",
        {"$schema", "secret", "annotation", "once", "rotate", "alternating-users", "keycloak"}));
    Spec s;
    // "$schema" points editors at docs/secrets-spec.schema.json; not ours to read.
    if (j.contains("$schema") && !j["$schema"].is_string()) {
      return Error("/$schema", "must be a string");
    }
    if (j.contains("secret")) INITKIT_RETURN_IF_ERROR(GetString(j["secret"], "/secret", &s.secret));
    if (j.contains("annotation")) {
      INITKIT_RETURN_IF_ERROR(GetString(j["annotation"], "/annotation", &s.annotation));
      if (s.annotation.empty()) return Error("/annotation", "must not be empty");
    }
    if (j.contains("once")) INITKIT_RETURN_IF_ERROR(ParseKeys(j["once"], "/once", &s.once));
    if (j.contains("rotate")) INITKIT_RETURN_IF_ERROR(ParseKeys(j["rotate"], "/rotate", &s.rotate));
    if (j.contains("alternating-users")) {
      const json& a = j["alternating-users"];
      if (!a.is_object()) return Error("/alternating-users", "must be an object of name -> users");
      for (auto it = a.begin(); it != a.end(); ++it) {
        AlternatingUsersSpec entry;
        INITKIT_RETURN_IF_ERROR(ParseAlternating(it.key(), it.value(),
                                                 PathJoin("/alternating-users", it.key()), &entry));
        s.alternating_users.push_back(std::move(entry));
      }
    }
    if (j.contains("keycloak")) {
      KeycloakSpec k;
      INITKIT_RETURN_IF_ERROR(ParseKeycloak(j["keycloak"], "/keycloak", &k));
      s.keycloak = k;
    }
    std::map<std::string, std::string> writer;  // Secret key -> spec path
    auto claim = [&](const std::string& key, const std::string& p) -> Status {
      auto [it, inserted] = writer.emplace(key, p);
      if (!inserted) {
        return Error(p, "writes key \"" + key + "\", which " + it->second + " writes too");
      }
      return Status::Ok();
    };
    for (const auto& [list, base] :
         {std::pair{&s.once, std::string("/once")}, std::pair{&s.rotate, std::string("/rotate")}}) {
      for (const KeySpec& k : *list) {
        for (const std::string& key : k.OutputKeys()) {
          INITKIT_RETURN_IF_ERROR(claim(key, PathJoin(base, k.name)));
        }
      }
    }
    for (const AlternatingUsersSpec& a : s.alternating_users) {
      for (const std::string& key : a.OutputKeys()) {
        INITKIT_RETURN_IF_ERROR(claim(key, PathJoin("/alternating-users", a.name)));
      }
    }
    *out = std::move(s);
    return Status::Ok();
  }

 private:
  std::string source_;
};

KeySpec Entry(const std::string& name, const std::string& gen, int bytes) {
  KeySpec k;
  k.name = name;
  k.gen.generator = gen;
  k.gen.bytes = bytes;
  return k;
}

}  // namespace

std::vector<std::string> KeySpec::OutputKeys() const {
  if (gen.generator == "rsa-keypair") return {gen.private_key, gen.public_key};
  return {name};
}

std::vector<std::string> AlternatingUsersSpec::OutputKeys() const {
  return {password_keys[0], password_keys[1], user_key, password_key};
}

Status ParseSpec(std::string_view text, const std::string& source, Spec* out) {
  return Parser(source).Parse(text, out);
}

Spec BuiltinSpec() {
  Spec s;
  s.annotation = "ecommercen.com/has-been-initialized";
  // The seed: bin2hex(random_bytes(16)) once; base64_encode(bin2hex(random_bytes(16))) each sync.
  s.once = {Entry("APP_ENCRYPTION_KEY", "hex", 16), Entry("APP_ADMIN_PWD", "hex", 16),
            Entry("APP_ADMIN_ADVISABLE_PWD", "hex", 16)};
  s.rotate = {Entry("APP_DB_DEFAULT_PWD", "base64-of-hex", 16)};
  return s;
}

}  // namespace initkit::secrets
