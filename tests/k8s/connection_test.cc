// The kubeconfig YAML subset, kubeconfig resolution and the one connection
// loader's precedence (kubeconfig flag, KUBECONFIG, in-cluster).
#include <gtest/gtest.h>

#include <cstdlib>

#include "common/k8s_connection.h"
#include "common/k8s_kubeconfig.h"
#include "common/k8s_yaml.h"
#include "common/random.h"
#include "tests/fakes/test_util.h"

namespace initkit {
namespace {

using nlohmann::json;
using testing::TempDir;

TEST(YamlSubsetTest, ParsesKubectlStyleDocuments) {
  json j;
  Status st = ParseYamlSubset(R"(# a comment
apiVersion: v1
clusters:
- cluster:
    server: https://1.2.3.4:6443   # trailing comment
    insecure-skip-tls-verify: true
  name: "c1"
- name: 'it''s'
  cluster: {}
list: [a, "b c", 'd']
empty: []
nested:
  deeper:
    - x
    - y: z
      w: "q\"uote"
nothing:
)",
                              "kc", &j);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(j["apiVersion"], "v1");
  ASSERT_EQ(j["clusters"].size(), 2u);
  EXPECT_EQ(j["clusters"][0]["cluster"]["server"], "https://1.2.3.4:6443");
  EXPECT_EQ(j["clusters"][0]["cluster"]["insecure-skip-tls-verify"], "true");
  EXPECT_EQ(j["clusters"][0]["name"], "c1");
  EXPECT_EQ(j["clusters"][1]["name"], "it's");
  EXPECT_TRUE(j["clusters"][1]["cluster"].is_object());
  EXPECT_EQ(j["list"], json({"a", "b c", "d"}));
  EXPECT_TRUE(j["empty"].is_array());
  EXPECT_EQ(j["nested"]["deeper"][0], "x");
  EXPECT_EQ(j["nested"]["deeper"][1]["y"], "z");
  EXPECT_EQ(j["nested"]["deeper"][1]["w"], "q\"uote");
  EXPECT_TRUE(j["nothing"].is_null());
}

TEST(YamlSubsetTest, RefusesWhatItDoesNotSupportNamingTheLine) {
  json j;
  Status st = ParseYamlSubset("a: 1\nb: &anchor x\n", "kc", &j);
  EXPECT_EQ(st.kind(), Status::Kind::kUsage);
  EXPECT_NE(st.message().find("kc: line 2"), std::string::npos) << st.message();
  st = ParseYamlSubset("a: |\n  text\n", "kc", &j);
  EXPECT_FALSE(st.ok());
  st = ParseYamlSubset("a: 1\na: 2\n", "kc", &j);
  EXPECT_NE(st.message().find("duplicate"), std::string::npos);
  st = ParseYamlSubset("a:\n  b: 1\n    c: 2\n", "kc", &j);
  EXPECT_FALSE(st.ok());
}

TEST(KubeconfigTest, ResolvesCurrentContextWithCertsAndRelativeFiles) {
  TempDir t;
  testing::WriteFile(t.Sub("ca.pem"), "CA");
  std::string cert = Base64Encode("CERT PEM"), key = Base64Encode("KEY PEM");
  std::string text =
      "apiVersion: v1\nkind: Config\ncurrent-context: b\n"
      "clusters:\n- name: one\n  cluster:\n    server: https://one:6443/\n"
      "    certificate-authority: ca.pem\n"
      "contexts:\n- name: a\n  context: {cluster: one}\n"
      "- name: b\n  context:\n    cluster: one\n    user: u\n    namespace: shop\n"
      "users:\n- name: u\n  user:\n    client-certificate-data: " +
      cert + "\n    client-key-data: " + key + "\n";
  // "{cluster: one}" is a non-empty flow mapping: refused, so use context b only.
  text.replace(text.find("- name: a\n  context: {cluster: one}\n"),
               std::string("- name: a\n  context: {cluster: one}\n").size(), "");
  testing::WriteFile(t.Sub("config"), text);
  K8sConnection c;
  Status st = LoadKubeconfig(t.Sub("config"), "", &c);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(c.server, "https://one:6443");
  EXPECT_EQ(c.ca_file, t.Sub("ca.pem"));
  EXPECT_EQ(c.client_cert_pem, "CERT PEM");
  EXPECT_EQ(c.client_key_pem, "KEY PEM");
  EXPECT_EQ(c.default_namespace, "shop");
  st = LoadKubeconfig(t.Sub("config"), "missing", &c);
  EXPECT_EQ(st.kind(), Status::Kind::kUsage);
  EXPECT_NE(st.message().find("missing"), std::string::npos);
}

TEST(KubeconfigTest, AcceptsJson) {
  K8sConnection c;
  Status st = ParseKubeconfig(
      R"({"current-context":"x","contexts":[{"name":"x","context":{"cluster":"c","user":"u"}}],
    "clusters":[{"name":"c","cluster":{"server":"https://h"}}],"users":[{"name":"u","user":{"token":"tok-123"}}]})",
      "kc.json", "", "", &c);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(c.token, "tok-123");
  EXPECT_EQ(c.server, "https://h");
}

TEST(InClusterTest, ReadsTheServiceAccountDirectory) {
  TempDir t;
  testing::WriteFile(t.Sub("sa/token"), "tok");
  testing::WriteFile(t.Sub("sa/ca.crt"), "ca");
  testing::WriteFile(t.Sub("sa/namespace"), "shop\n");
  K8sConnection c;
  Environment env = {{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                     {"KUBERNETES_SERVICE_PORT", "443"},
                     {"INITKIT_SERVICEACCOUNT_DIR", t.Sub("sa")}};
  ASSERT_TRUE(LoadInClusterConnection("", env, &c).ok());
  EXPECT_EQ(c.server, "https://10.0.0.1:443");
  EXPECT_EQ(c.default_namespace, "shop");
  EXPECT_EQ(c.token_file, t.Sub("sa/token"));
  env.erase("KUBERNETES_SERVICE_HOST");
  EXPECT_EQ(LoadInClusterConnection("", env, &c).kind(), Status::Kind::kUsage);
}

// A kubeconfig naming `server`, with namespace `ns` and a relative CA file.
std::string Kubeconfig(const std::string& server, const std::string& ns,
                       const std::string& extra_cluster = "") {
  return "apiVersion: v1\nkind: Config\ncurrent-context: main\n"
         "clusters:\n- name: c\n  cluster:\n    server: " +
         server + "\n    certificate-authority: ca.pem\n" + extra_cluster +
         "contexts:\n- name: main\n  context:\n    cluster: c\n    user: u\n    namespace: " + ns +
         "\n- name: other\n  context:\n    cluster: c\n    user: u\n    namespace: other-ns\n"
         "users:\n- name: u\n  user:\n    token: kubeconfig-token-7c1\n";
}

// Everything a pod could have at once: a kubeconfig flag, KUBECONFIG and the
// in-cluster variables with a service-account directory.
class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::RegisterCredential("kubeconfig-token-7c1", "test kubeconfig token");
    testing::WriteFile(dir_.Sub("flag/config"), Kubeconfig("https://flag.example:6443", "flag-ns"));
    testing::WriteFile(dir_.Sub("env/config"), Kubeconfig("https://env.example:6443", "env-ns"));
    testing::WriteFile(dir_.Sub("sa/token"), "sa-token-4e2");
    testing::RegisterCredential("sa-token-4e2", "test service-account token");
    testing::WriteFile(dir_.Sub("sa/ca.crt"), "ca");
    testing::WriteFile(dir_.Sub("sa/namespace"), "pod-ns\n");
    env_ = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
            {"KUBERNETES_SERVICE_PORT", "443"},
            {"KUBECONFIG", dir_.Sub("env/config")}};
    flags_ = {dir_.Sub("flag/config"), "", dir_.Sub("sa")};
  }
  TempDir dir_;
  Environment env_;
  K8sConnectionFlags flags_;
  K8sConnection c_;
};

TEST_F(LoaderTest, KubeconfigFlagComesFirst) {
  ASSERT_TRUE(LoadK8sConnection(flags_, env_, &c_).ok());
  EXPECT_EQ(c_.server, "https://flag.example:6443");
  EXPECT_EQ(c_.default_namespace, "flag-ns");
  EXPECT_EQ(c_.ca_file, dir_.Sub("flag/ca.pem"));  // relative to the kubeconfig
  EXPECT_EQ(c_.source, dir_.Sub("flag/config"));
}

TEST_F(LoaderTest, ContextFlagPicksTheContext) {
  flags_.context = "other";
  ASSERT_TRUE(LoadK8sConnection(flags_, env_, &c_).ok());
  EXPECT_EQ(c_.default_namespace, "other-ns");
  flags_.context = "absent";
  Status st = LoadK8sConnection(flags_, env_, &c_);
  EXPECT_EQ(st.kind(), Status::Kind::kUsage);
  EXPECT_NE(st.message().find("no context named \"absent\""), std::string::npos) << st.message();
}

TEST_F(LoaderTest, KubeconfigEnvironmentComesBeforeInCluster) {
  flags_.kubeconfig.clear();
  ASSERT_TRUE(LoadK8sConnection(flags_, env_, &c_).ok());
  EXPECT_EQ(c_.server, "https://env.example:6443");
  EXPECT_EQ(c_.token, "kubeconfig-token-7c1");
}

TEST_F(LoaderTest, InClusterWhenNoKubeconfigIsNamed) {
  flags_.kubeconfig.clear();
  env_.erase("KUBECONFIG");
  ASSERT_TRUE(LoadK8sConnection(flags_, env_, &c_).ok());
  EXPECT_EQ(c_.server, "https://10.96.0.1:443");
  EXPECT_EQ(c_.token_file, dir_.Sub("sa/token"));
  EXPECT_EQ(c_.ca_file, dir_.Sub("sa/ca.crt"));
  EXPECT_EQ(c_.default_namespace, "pod-ns");
  EXPECT_TRUE(c_.token.empty());  // read (and re-read) by the client
}

TEST_F(LoaderTest, InClusterIpv6HostIsBracketedAndPortDefaults) {
  flags_.kubeconfig.clear();
  env_.erase("KUBECONFIG");
  env_["KUBERNETES_SERVICE_HOST"] = "fd00:10:96::1";
  env_.erase("KUBERNETES_SERVICE_PORT");
  ASSERT_TRUE(LoadK8sConnection(flags_, env_, &c_).ok());
  EXPECT_EQ(c_.server, "https://[fd00:10:96::1]:443");
  env_["KUBERNETES_SERVICE_PORT"] = "https";
  EXPECT_EQ(LoadK8sConnection(flags_, env_, &c_).kind(), Status::Kind::kUsage);
}

TEST_F(LoaderTest, ServiceAccountDirectoryFromFlagElseEnvironment) {
  flags_.kubeconfig.clear();
  env_.erase("KUBECONFIG");
  flags_.serviceaccount_dir.clear();
  env_["INITKIT_SERVICEACCOUNT_DIR"] = dir_.Sub("sa");
  ASSERT_TRUE(LoadK8sConnection(flags_, env_, &c_).ok());
  EXPECT_EQ(c_.token_file, dir_.Sub("sa/token"));
  flags_.serviceaccount_dir = dir_.Sub("empty");
  Status st = LoadK8sConnection(flags_, env_, &c_);
  EXPECT_EQ(st.kind(), Status::Kind::kUsage);
  EXPECT_NE(st.message().find(dir_.Sub("empty/token")), std::string::npos) << st.message();
}

TEST_F(LoaderTest, ContextWithoutAKubeconfigIsAUsageError) {
  flags_.kubeconfig.clear();
  env_.erase("KUBECONFIG");
  flags_.context = "prod";
  Status st = LoadK8sConnection(flags_, env_, &c_);
  EXPECT_EQ(st.kind(), Status::Kind::kUsage);
  EXPECT_NE(st.message().find("--context prod"), std::string::npos) << st.message();
}

TEST_F(LoaderTest, NoSourceAtAllSaysWhatWasLookedAt) {
  flags_.kubeconfig.clear();
  env_.clear();
  Status st = LoadK8sConnection(flags_, env_, &c_);
  EXPECT_EQ(st.kind(), Status::Kind::kUsage);
  for (const char* named : {"KUBERNETES_SERVICE_HOST", "--kubeconfig", "KUBECONFIG"}) {
    EXPECT_NE(st.message().find(named), std::string::npos) << st.message();
  }
}

TEST_F(LoaderTest, KubeconfigListMergesLikeKubectl) {
  flags_.kubeconfig.clear();
  // The first file that names an entry wins; a missing file is skipped;
  // relative paths stay relative to the file that holds them.
  testing::WriteFile(dir_.Sub("first/config"),
                     "clusters:\n- name: c\n  cluster:\n    server: https://first.example\n"
                     "    certificate-authority: first-ca.pem\n");
  env_["KUBECONFIG"] =
      dir_.Sub("missing") + ":" + dir_.Sub("first/config") + ":" + dir_.Sub("env/config");
  ASSERT_TRUE(LoadK8sConnection(flags_, env_, &c_).ok());
  EXPECT_EQ(c_.server, "https://first.example");
  EXPECT_EQ(c_.ca_file, dir_.Sub("first/first-ca.pem"));
  EXPECT_EQ(c_.default_namespace, "env-ns");  // context and current-context from the second
  env_["KUBECONFIG"] = dir_.Sub("missing") + ":" + dir_.Sub("missing2");
  EXPECT_EQ(LoadK8sConnection(flags_, env_, &c_).kind(), Status::Kind::kUsage);
}

TEST_F(LoaderTest, TlsServerNameAndProxyUrlAreRead) {
  testing::WriteFile(dir_.Sub("flag/config"),
                     Kubeconfig("https://10.0.0.1:6443", "ns",
                                "    tls-server-name: api.internal\n"
                                "    proxy-url: http://proxy.example:3128\n"));
  ASSERT_TRUE(LoadK8sConnection(flags_, env_, &c_).ok());
  EXPECT_EQ(c_.tls_server_name, "api.internal");
  EXPECT_EQ(c_.proxy_url, "http://proxy.example:3128");
  testing::WriteFile(dir_.Sub("flag/config"),
                     Kubeconfig("https://10.0.0.1:6443", "ns", "    proxy-url: ftp://p\n"));
  EXPECT_EQ(LoadK8sConnection(flags_, env_, &c_).kind(), Status::Kind::kUsage);
}

TEST(K8sEnvironmentTest, CurrentEnvironmentPassesTheLoadersVariablesThrough) {
  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT_HTTPS", "443", 1);  // not read: not passed
  Environment env = CurrentEnvironment();
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT_HTTPS");
  EXPECT_EQ(env["KUBERNETES_SERVICE_HOST"], "10.96.0.1");
  EXPECT_EQ(env.count("KUBERNETES_SERVICE_PORT_HTTPS"), 0u);
}

}  // namespace
}  // namespace initkit
