// initkit-cron-gate's flag table and its options, parsed once.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/config.h"
#include "common/k8s_connection.h"
#include "common/status.h"
#include "common/version.h"

namespace initkit::crongate {

enum class Compare { kExact, kAtLeast };

/// What a version mismatch that outlasts the retries does: fail the run
/// (exit 3), or skip it (exit 0 without running CMD).
enum class OnMismatch { kFail, kSkip };

/// Everything one gate run needs, already validated.
struct Options {
  std::string url;
  Version expected;
  nlohmann::json::json_pointer json_pointer{"/version"};
  Compare compare = Compare::kExact;
  OnMismatch on_mismatch = OnMismatch::kFail;
  int retries = 5;  // retries after the first failed attempt
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{2000};    // per request
  std::chrono::milliseconds deadline{60000};  // whole run
  int consecutive = 1;                        // matching answers in a row needed to open
  bool reuse_connection = false;
  std::vector<std::string> headers;
  std::string ca_file;
  std::string rollout;     // Deployment name to wait for first ("" = none)
  std::string namespace_;  // its namespace ("" = the credentials' own)
  K8sConnectionFlags k8s;  // --kubeconfig, --context, --serviceaccount-dir
  Environment env;         // what the connection loader reads (KUBERNETES_SERVICE_HOST, ...)
};

/// The flag table of initkit-cron-gate.
ToolSpec GateToolSpec();

/// Builds Options from parsed flags and the environment: reads the version
/// file, checks the URL, JSON pointer, headers, CA file and --rollout.
/// Bad input is a Usage status naming it.
Status OptionsFromConfig(const Config& config, const Environment& env, Options* out);

}  // namespace initkit::crongate
