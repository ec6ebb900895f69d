#include "common/k8s_connection.h"

#include <cctype>
#include <cerrno>

#include "common/file_util.h"
#include "common/k8s_kubeconfig.h"
#include "common/log.h"
#include "common/strings.h"

namespace initkit {

namespace {

std::string EnvGet(const Environment& env, const char* key) {
  auto it = env.find(key);
  return it == env.end() ? std::string() : it->second;
}

}  // namespace

void AddK8sConnectionFlags(ToolSpec* spec) {
  AddFlag(spec, "kubeconfig", FlagType::kString, "",
          "Kubeconfig file for the Kubernetes API (default: $KUBECONFIG, else the in-cluster "
          "service account)",
          "PATH");
  AddFlag(spec, "context", FlagType::kString, "",
          "Kubeconfig context to use (default: its current-context)", "NAME");
  AddFlag(spec, "serviceaccount-dir", FlagType::kString, kServiceAccountDir,
          "Where in-cluster credentials are read (token, ca.crt, namespace)", "DIR");
}

K8sConnectionFlags K8sConnectionFlagsFromConfig(const Config& config) {
  K8sConnectionFlags f;
  f.kubeconfig = config.Get("kubeconfig");
  f.context = config.Get("context");
  f.serviceaccount_dir = config.Get("serviceaccount-dir");
  return f;
}

Status LoadInClusterConnection(const std::string& sa_dir, const Environment& env,
                               K8sConnection* out) {
  std::string dir = sa_dir;
  if (dir.empty()) dir = EnvGet(env, "INITKIT_SERVICEACCOUNT_DIR");
  if (dir.empty()) dir = kServiceAccountDir;
  std::string host = EnvGet(env, "KUBERNETES_SERVICE_HOST");
  std::string port = EnvGet(env, "KUBERNETES_SERVICE_PORT");
  if (host.empty()) {
    return Status::Usage(
        "no Kubernetes API credentials: not running in a cluster (KUBERNETES_SERVICE_HOST is not "
        "set), and neither --kubeconfig nor KUBECONFIG names a kubeconfig");
  }
  if (port.empty()) port = "443";
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return Status::Usage("KUBERNETES_SERVICE_PORT=" + port + " is not a port number");
    }
  }
  if (host.find_first_of("/?#@[] ") != std::string::npos) {
    return Status::Usage("KUBERNETES_SERVICE_HOST=" + host + " is not a host name or address");
  }
  K8sConnection c;
  c.source = "in-cluster service account " + dir;
  // An IPv6 service host (an IPv6-only or dual-stack cluster) needs brackets
  // in a URL; client-go's rest.InClusterConfig does the same (net.JoinHostPort).
  c.server =
      "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  c.token_file = dir + "/token";
  c.ca_file = dir + "/ca.crt";
  for (const std::string& f : {c.token_file, c.ca_file}) {
    struct stat sb;
    if (::stat(f.c_str(), &sb) != 0) {
      return Status::Usage("in-cluster credentials: cannot read " + f + ": " + ErrnoText(errno) +
                           " (is a service-account token mounted? automountServiceAccountToken)");
    }
  }
  std::string ns;
  if (ReadFileToString(dir + "/namespace", &ns, 4096).ok()) {
    c.default_namespace = std::string(Trim(ns));
  }
  *out = std::move(c);
  return Status::Ok();
}

Status LoadK8sConnection(const K8sConnectionFlags& flags, const Environment& env,
                         K8sConnection* out) {
  Status st;
  std::string kubeconfig_env = EnvGet(env, "KUBECONFIG");
  if (!flags.kubeconfig.empty()) {
    st = LoadKubeconfig(flags.kubeconfig, flags.context, out);
  } else if (!kubeconfig_env.empty()) {
    st = LoadKubeconfigList(kubeconfig_env, flags.context, out);
  } else if (!flags.context.empty()) {
    return Status::Usage("--context " + flags.context +
                         ": contexts live in a kubeconfig, and neither --kubeconfig nor "
                         "KUBECONFIG names one");
  } else {
    st = LoadInClusterConnection(flags.serviceaccount_dir, env, out);
  }
  if (!st.ok()) return st;
  log::Info("Kubernetes API connection", {{"server", out->server},
                                          {"credentials", out->source},
                                          {"namespace", out->default_namespace}});
  return Status::Ok();
}

Status K8sToken::Current(std::string* out) {
  bool changed = false;
  INITKIT_RETURN_IF_ERROR(Read(false, &changed));
  *out = token_;
  return Status::Ok();
}

Status K8sToken::Reload(bool* changed) { return Read(true, changed); }

Status K8sToken::Read(bool force, bool* changed) {
  *changed = false;
  if (file_.empty()) return Status::Ok();
  struct stat sb;
  if (::stat(file_.c_str(), &sb) != 0) {
    return Status::Failed("token file " + file_ + ": " + ErrnoText(errno));
  }
  bool same = stat_valid_ && sb.st_ino == stat_.st_ino && sb.st_size == stat_.st_size &&
              sb.st_mtim.tv_sec == stat_.st_mtim.tv_sec &&
              sb.st_mtim.tv_nsec == stat_.st_mtim.tv_nsec;
  if (same && !force) return Status::Ok();
  std::string token;
  Status st = ReadFileToString(file_, &token, 64UL * 1024);
  if (!st.ok()) return st.Annotate("token file");
  // As client-go reads it: strings.TrimSpace of the file.
  token = std::string(Trim(token));
  log::AddSecret(token);
  *changed = token != token_;
  token_ = std::move(token);
  stat_ = sb;
  stat_valid_ = true;
  return Status::Ok();
}

}  // namespace initkit
