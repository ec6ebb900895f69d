// The version gate: opens when the running web version matches ours.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/retry.h"
#include "common/status.h"
#include "common/version.h"

namespace initkit::crongate {

enum class Compare { kExact, kAtLeast };

/// Everything one gate run needs, already validated.
struct GateOptions {
  std::string url;
  Version expected;
  std::string json_pointer = "/version";
  Compare compare = Compare::kExact;
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
  std::string kubeconfig;  // "" = in-cluster service account
};

/// The flag table of initkit-cron-gate.
ToolSpec GateToolSpec();

/// Builds GateOptions from parsed flags: reads the version file, checks the
/// URL, headers and CA file. Bad input is a Usage status naming it.
Status OptionsFromConfig(const Config& config, GateOptions* out);

/// The whole gate: waits for --rollout (if any), then RunGate, under one
/// deadline.
Status RunCronGate(const GateOptions& options);

/// Asks the URL until the gate opens (Ok), a mismatch outlasts the retries
/// or the deadline (Refused), anything else does (NotReady), or a stop
/// signal arrives (Interrupted). Logs every attempt with both versions.
Status RunGate(const GateOptions& options, const Deadline& deadline);

}  // namespace initkit::crongate
