// Where the Kubernetes API is and how to authenticate to it: the one loader
// every tool uses (kubeconfig or in-cluster service account), and the bearer
// token that follows a rotated token file.
#pragma once

#include <sys/stat.h>

#include <string>

#include "common/config.h"
#include "common/status.h"

namespace initkit {

/// Where the API server is and how to authenticate to it.
struct K8sConnection {
  std::string server;  // "https://host:port" (no trailing slash)
  std::string ca_pem, ca_file;
  std::string tls_server_name;  // kubeconfig tls-server-name: verify the certificate for this name
  std::string proxy_url;        // kubeconfig proxy-url ("" = HTTPS_PROXY/NO_PROXY from the env)
  std::string token;
  std::string token_file;  // re-read when it changes and after a 401
  std::string client_cert_pem, client_key_pem, client_cert_file, client_key_file;
  std::string default_namespace;  // "" when the source names none
  bool insecure = false;          // kubeconfig insecure-skip-tls-verify
  std::string source;             // for messages: the kubeconfig or service-account directory
};

/// The standard in-cluster service-account directory.
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The outside (non-INITKIT_) variables the loader reads; CurrentEnvironment()
/// passes exactly these through.
inline constexpr const char* kK8sEnvironmentVariables[] = {"KUBERNETES_SERVICE_HOST",
                                                           "KUBERNETES_SERVICE_PORT", "KUBECONFIG"};

/// What the user named on the command line (or INITKIT_* env).
struct K8sConnectionFlags {
  std::string kubeconfig;          // --kubeconfig PATH
  std::string context;             // --context NAME
  std::string serviceaccount_dir;  // --serviceaccount-dir; "" = env INITKIT_SERVICEACCOUNT_DIR,
                                   // else kServiceAccountDir
};

/// Adds --kubeconfig, --context and --serviceaccount-dir (also
/// INITKIT_KUBECONFIG, INITKIT_CONTEXT, INITKIT_SERVICEACCOUNT_DIR) to a
/// tool's flag table, with the same help everywhere.
void AddK8sConnectionFlags(ToolSpec* spec);

/// Reads the flags AddK8sConnectionFlags added.
K8sConnectionFlags K8sConnectionFlagsFromConfig(const Config& config);

/// The one connection loader. Precedence, as kubectl/client-go:
///   1. --kubeconfig PATH (with --context, else its current-context);
///   2. env KUBECONFIG (a ':'-separated list, merged as kubectl does);
///   3. in-cluster: KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT (default
///      443; an IPv6 host is bracketed) from `env`, and token, ca.crt and
///      namespace from the service-account directory.
/// ~/.kube/config is never read implicitly. --context without a kubeconfig,
/// no source at all, or a missing token/ca.crt is a Usage error that says
/// what was looked at. Logs which source was chosen (never the token).
Status LoadK8sConnection(const K8sConnectionFlags& flags, const Environment& env,
                         K8sConnection* out);

/// Step 3 alone: in-cluster credentials from `sa_dir` (empty = env
/// INITKIT_SERVICEACCOUNT_DIR, else kServiceAccountDir).
Status LoadInClusterConnection(const std::string& sa_dir, const Environment& env,
                               K8sConnection* out);

/// The bearer token of a connection: fixed (kubeconfig token), or read from
/// a file (service account, kubeconfig tokenFile) and re-read whenever the
/// file changes, since the kubelet rotates projected tokens in place.
class K8sToken {
 public:
  explicit K8sToken(const K8sConnection& conn) : token_(conn.token), file_(conn.token_file) {}

  /// The token to send now ("" = none); re-reads the file if it changed
  /// (inode, size or mtime) since the last read. Failed if it cannot be read.
  Status Current(std::string* out);
  /// Re-reads the file even if it looks unchanged (after a 401: a token
  /// rewritten within one mtime tick). *changed when the token differs.
  /// Without a token file: Ok, *changed = false.
  Status Reload(bool* changed);

 private:
  Status Read(bool force, bool* changed);

  std::string token_;
  std::string file_;
  struct stat stat_ {};
  bool stat_valid_ = false;
};

}  // namespace initkit
