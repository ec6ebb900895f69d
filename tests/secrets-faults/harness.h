// Shared setup of the initkit-secrets fault tests: a fake API, a temp dir,
// runs of the binary, and the once-key views the invariants compare.
#pragma once

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/random.h"
#include "tests/fakes/k8s_fake.h"
#include "tests/fakes/keycloak_fake.h"
#include "tests/fakes/test_util.h"

namespace initkit::secrets::faults {

using nlohmann::json;
using testing::FakeRequest;
using testing::FakeResponse;
using testing::FaultHooks;
using testing::K8sFake;
using testing::KeycloakFake;
using testing::RunningBinary;
using testing::RunOutput;
using testing::TempDir;
using Map = std::map<std::string, std::string>;

inline constexpr const char* kNs = "shop";
inline constexpr const char* kApp = "app";
inline constexpr const char* kAnnotation = "ecommercen.com/has-been-initialized";
inline constexpr const char* kAppPath = "/api/v1/namespaces/shop/secrets/app";
inline constexpr const char* kSecretsPath = "/api/v1/namespaces/shop/secrets";
inline const std::vector<std::string> kOnceKeys = {"APP_ENCRYPTION_KEY", "APP_ADMIN_PWD",
                                                   "APP_ADMIN_ADVISABLE_PWD"};
inline constexpr const char* kRotateKey = "APP_DB_DEFAULT_PWD";
inline constexpr auto kWait = std::chrono::seconds(60);  // safety net of condition waits

// Stored values are compared with EXPECT_TRUE(a == b), never EXPECT_EQ:
// gtest would print them on failure, and no credential may reach any output.

/// The built-in spec's once-keys among `data` (absent ones left out).
inline Map OnceOf(const Map& data) {
  Map out;
  for (const std::string& k : kOnceKeys) {
    auto it = data.find(k);
    if (it != data.end()) out[k] = it->second;
  }
  return out;
}

/// Decoded data of a Secret object (a request body or a stored object).
inline Map DataOf(const json& secret) {
  Map out;
  if (!secret.is_object() || !secret.contains("data")) return out;
  for (auto it = secret["data"].begin(); it != secret["data"].end(); ++it) {
    std::string v;
    if (it->is_string() && Base64Decode(it->get<std::string>(), &v)) out[it.key()] = v;
  }
  return out;
}

/// True when every built-in key is there and well formed (no half value).
inline bool CompleteBuiltinValues(const Map& d) {
  static const std::regex hex("[0-9a-f]{32}");
  for (const std::string& k : kOnceKeys) {
    auto it = d.find(k);
    if (it == d.end() || !std::regex_match(it->second, hex)) return false;
  }
  auto rot = d.find(kRotateKey);
  std::string raw;
  return rot != d.end() && Base64Decode(rot->second, &raw) && std::regex_match(raw, hex);
}

inline json Summary(const RunOutput& r) {
  json j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "stdout is not one JSON document: " << r.out;
  return j;
}

/// Matches requests by method and exact path (query ignored).
inline FaultHooks::Match Request(std::string method, std::string path) {
  return [method, path](const FakeRequest& r) { return r.method == method && r.path == path; };
}

/// A Kubernetes-style error answer.
inline FakeResponse StatusAnswer(int code, const std::string& reason, const std::string& msg) {
  FakeResponse r;
  r.status = code;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = testing::K8sStatus(code, reason, msg).dump();
  return r;
}

class Harness {
 public:
  Harness() { k8s_.WriteKubeconfig(dir_.Sub("kubeconfig"), kNs); }

  std::vector<std::string> Args(const std::string& command,
                                const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> a = {
        command, "--kubeconfig", dir_.Sub("kubeconfig"), "--secret", kApp, "--timeout", "60s"};
    a.insert(a.end(), extra.begin(), extra.end());  // a later --timeout wins
    return a;
  }
  static Map Env(Map env) {
    env["INITKIT_LOG_FORMAT"] = "json";
    return env;
  }
  RunOutput Sync(const std::vector<std::string>& extra = {}, const Map& env = {}) const {
    return testing::RunBinary("initkit-secrets", Args("sync", extra), Env(env), kWait);
  }
  /// Runs with explicit arguments (file targets, in-cluster runs).
  RunOutput Run(const std::vector<std::string>& args, const Map& env = {}) const {
    return testing::RunBinary("initkit-secrets", args, Env(env), kWait);
  }
  std::unique_ptr<RunningBinary> Start(const std::vector<std::string>& args,
                                       const Map& env = {}) const {
    return std::make_unique<RunningBinary>(testing::BinPath("initkit-secrets"), args, Env(env));
  }
  std::unique_ptr<RunningBinary> StartSync(const std::vector<std::string>& extra = {},
                                           const Map& env = {}) const {
    return Start(Args("sync", extra), env);
  }

  /// Environment enabling Keycloak sync against `kc` (admin secret from a file).
  Map KeycloakEnv(const std::string& url, const KeycloakFake::Options& o = {}) const {
    // Written beside and renamed over: a run already started reads the old
    // file or the new one, never a truncated one.
    testing::WriteFile(dir_.Sub("kc-admin-secret.new"), o.admin_client_secret + "\n", 0600);
    std::rename(dir_.Sub("kc-admin-secret.new").c_str(), dir_.Sub("kc-admin-secret").c_str());
    return {{"APP_ADMIN_SSO_ENABLED", "true"},
            {"INITKIT_KEYCLOAK_URL", url},
            {"INITKIT_KEYCLOAK_ADMIN_CLIENT_ID", o.admin_client_id},
            {"INITKIT_KEYCLOAK_ADMIN_CLIENT_SECRET_FILE", dir_.Sub("kc-admin-secret")},
            {"INITKIT_KEYCLOAK_REALM", o.realm},
            {"INITKIT_KEYCLOAK_CLIENT_ID", "shop-admin"},
            {"INITKIT_KEYCLOAK_REDIRECT_URI", "https://shop.example/admin/*"}};
  }

  Map Data(const std::string& name = kApp) const { return k8s_.SecretData(kNs, name); }
  Map Once() const { return OnceOf(Data()); }

  K8sFake& k8s() { return k8s_; }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  K8sFake k8s_;  // after dir_: stopped before the directory goes
};

}  // namespace initkit::secrets::faults
