// The fake cluster behind the pod runner (tests/pods/podrunner.py): the
// Kubernetes API fake with the manifests' own RBAC, and the Keycloak fake,
// in one process driven over stdin/stdout.
//
//   pods_cluster_fake DIR [KEYCLOAK_ADMIN_CLIENT_ID]
// writes DIR/ca.crt (the API server's CA), prints one JSON line
// {"api_port":N,"keycloak_url":URL,"keycloak_admin_client_id":ID,
//  "keycloak_admin_client_secret_file":PATH,"keycloak_realm":REALM}
// and then answers one JSON request line with one JSON line, until EOF:
//   {"op":"apply","ns":NS,"object":OBJ}     Secret, ConfigMap, Deployment,
//                                             ServiceAccount, Role, RoleBinding
//   {"op":"delete","kind":K,"ns":NS,"name":N}
//   {"op":"token","ns":NS,"sa":NAME}         -> {"token":T}
//   {"op":"secret","ns":NS,"name":N}         -> {"exists":B,"data":{K:V}}
//   {"op":"configmap","ns":NS,"name":N}      -> {"exists":B,"data":{K:V}}
//   {"op":"serviceaccount","ns":NS,"name":N} -> {"exists":B}
//   {"op":"decisions"}                       -> {"decisions":[...]} (RBAC)
//   {"op":"keycloak_client","client_id":ID}  -> {"exists":B}
// Errors are {"error":MESSAGE}. Every request is authorised by K8sRbac: only
// tokens issued with "token" authenticate.
#include <unistd.h>

#include <iostream>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/random.h"
#include "tests/fakes/k8s_fake.h"
#include "tests/fakes/k8s_rbac.h"
#include "tests/fakes/keycloak_fake.h"
#include "tests/fakes/test_util.h"

namespace {

using initkit::testing::K8sFake;
using initkit::testing::K8sRbac;
using initkit::testing::KeycloakFake;
using nlohmann::json;

std::map<std::string, std::string> DecodeData(const json& object) {
  std::map<std::string, std::string> out;
  const json data = object.value("data", json::object());
  const json string_data = object.value("stringData", json::object());
  for (const auto& [k, v] : data.items()) {
    std::string plain;
    if (!v.is_string() || !initkit::Base64Decode(v.get<std::string>(), &plain)) {
      throw std::runtime_error("data[" + k + "] is not base64");
    }
    out[k] = plain;
  }
  for (const auto& [k, v] : string_data.items()) {
    out[k] = v.get<std::string>();
  }
  return out;
}

std::map<std::string, std::string> StringMap(const json& j) {
  std::map<std::string, std::string> out;
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return out;
}

struct Cluster {
  K8sFake k8s;
  K8sRbac rbac;
  KeycloakFake keycloak;
  explicit Cluster(const KeycloakFake::Options& kc) : keycloak(kc) {}
  std::map<std::string, json> configmaps;  // "ns/name"
  std::set<std::string> service_accounts;  // "ns/name"

  json Apply(const std::string& ns_default, const json& obj) {
    std::string kind = obj.value("kind", "");
    json md = obj.value("metadata", json::object());
    std::string ns = md.value("namespace", ns_default);
    std::string name = md.value("name", "");
    if (name.empty()) return {{"error", kind + " without metadata.name"}};
    if (kind == "Secret") {
      k8s.PutSecret(ns, name, DecodeData(obj), StringMap(md.value("annotations", json())),
                    StringMap(md.value("labels", json())));
    } else if (kind == "ConfigMap") {
      json stored = obj;
      stored["metadata"]["namespace"] = ns;
      configmaps[ns + "/" + name] = stored;
      k8s.SetObject("/api/v1/namespaces/" + ns + "/configmaps/" + name, stored);
    } else if (kind == "Deployment") {
      json stored = obj;
      stored["metadata"]["namespace"] = ns;
      k8s.SetObject("/apis/apps/v1/namespaces/" + ns + "/deployments/" + name, stored);
    } else if (kind == "ServiceAccount") {
      service_accounts.insert(ns + "/" + name);
    } else if (kind == "Role" || kind == "RoleBinding") {
      rbac.Apply(obj, ns);
    } else {
      return {{"error", "kind " + kind + " is not served by the fake"}};
    }
    return {{"ok", true}};
  }

  json Handle(const json& req) {
    std::string op = req.value("op", "");
    std::string ns = req.value("ns", "default");
    std::string name = req.value("name", "");
    if (op == "apply") return Apply(ns, req.at("object"));
    if (op == "delete") {
      std::string kind = req.value("kind", "");
      bool found = false;
      if (kind == "Secret") {
        found = !k8s.SecretData(ns, name).empty();
        k8s.DeleteSecret(ns, name);
      } else if (kind == "ServiceAccount") {
        found = service_accounts.erase(ns + "/" + name) > 0;
      } else {
        found = rbac.Delete(kind, ns, name);
      }
      return {{"ok", true}, {"found", found}};
    }
    if (op == "token") return {{"token", rbac.IssueToken(ns, req.value("sa", ""))}};
    if (op == "secret") {
      json s;
      bool exists = k8s.GetSecret(ns, name, &s);
      json data = json::object();
      for (const auto& [k, v] : k8s.SecretData(ns, name)) data[k] = v;
      return {{"exists", exists}, {"data", data}};
    }
    if (op == "configmap") {
      auto it = configmaps.find(ns + "/" + name);
      if (it == configmaps.end()) return {{"exists", false}, {"data", json::object()}};
      return {{"exists", true}, {"data", it->second.value("data", json::object())}};
    }
    if (op == "serviceaccount") return {{"exists", service_accounts.count(ns + "/" + name) > 0}};
    if (op == "decisions") {
      json out = json::array();
      for (const auto& d : rbac.decisions()) {
        out.push_back({{"user", d.user},
                       {"verb", d.info.verb},
                       {"group", d.info.api_group},
                       {"ns", d.info.ns},
                       {"resource", d.info.resource},
                       {"name", d.info.name},
                       {"allowed", d.allowed}});
      }
      return {{"decisions", out}};
    }
    if (op == "keycloak_client") {
      json rep;
      return {{"exists", keycloak.FindClient(req.value("client_id", ""), &rep)}};
    }
    return {{"error", "unknown op " + op}};
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: " << argv[0] << " DIR [KEYCLOAK_ADMIN_CLIENT_ID]\n";
    return 2;
  }
  std::string dir = argv[1];
  KeycloakFake::Options kc;
  if (argc == 3) kc.admin_client_id = argv[2];
  Cluster cluster(kc);
  cluster.k8s.SetAuthorizer(
      [&cluster](const initkit::testing::FakeRequest& r) { return cluster.rbac.Authorize(r); });
  initkit::testing::WriteFile(dir + "/ca.crt", initkit::testing::GetTestPki().ca_pem, 0644);
  initkit::testing::WriteFile(dir + "/keycloak-admin-secret",
                              cluster.keycloak.options().admin_client_secret, 0600);
  std::string url = cluster.k8s.base_url();
  json hello = {{"api_port", std::stoi(url.substr(url.rfind(':') + 1))},
                {"keycloak_url", cluster.keycloak.base_url()},
                {"keycloak_admin_client_id", cluster.keycloak.options().admin_client_id},
                {"keycloak_admin_client_secret_file", dir + "/keycloak-admin-secret"},
                {"keycloak_realm", cluster.keycloak.options().realm}};
  std::cout << hello.dump() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    json answer;
    try {
      answer = cluster.Handle(json::parse(line));
    } catch (const std::exception& e) {
      answer = {{"error", e.what()}};
    }
    std::cout << answer.dump() << std::endl;
  }
  return 0;
}
