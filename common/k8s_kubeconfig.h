// Kubeconfig files: the context kubectl would use, as a K8sConnection.
#pragma once

#include <string>
#include <string_view>

#include "common/k8s_connection.h"
#include "common/status.h"

namespace initkit {

/// Reads the kubeconfig at `path` (YAML or JSON) and resolves `context`
/// (empty = its current-context) into *out: server, CA (data or file,
/// relative to the kubeconfig's directory), tls-server-name, proxy-url,
/// token / tokenFile, client certificate and key (data or file), namespace.
/// exec and auth-provider users are refused. Errors are Usage statuses
/// naming the file and the entry.
Status LoadKubeconfig(const std::string& path, const std::string& context, K8sConnection* out);

/// The same for a KUBECONFIG-style list ("a:b:c"), merged as kubectl merges
/// it: for each context, cluster and user name the first file that defines
/// it wins, and current-context comes from the first file that sets one.
/// Relative paths stay relative to the file they were written in; files
/// that do not exist are skipped (all missing is an error).
Status LoadKubeconfigList(const std::string& list, const std::string& context, K8sConnection* out);

/// LoadKubeconfig on text already read; `base_dir` resolves relative file
/// names and `source` names the text in messages.
Status ParseKubeconfig(std::string_view text, const std::string& source,
                       const std::string& base_dir, const std::string& context, K8sConnection* out);

}  // namespace initkit
