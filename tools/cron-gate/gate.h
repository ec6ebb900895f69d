// The version gate: opens when the running web version matches ours.
#pragma once

#include "common/retry.h"
#include "common/status.h"
#include "tools/cron-gate/options.h"

namespace initkit::crongate {

/// How a run ended when it did not fail.
enum class Outcome { kOpen, kSkipped };

/// The whole gate under one deadline: waits for --rollout (if any), then
/// RunGate. A mismatch with --on-mismatch skip is Ok with *outcome = kSkipped
/// (logged as a skipped run); the caller runs CMD only on kOpen.
Status Run(const Options& options, Outcome* outcome);

/// The tool's run for ToolMain: OptionsFromConfig (with CurrentEnvironment())
/// then Run; *run_command is false when the run was skipped.
Status RunFromConfig(const Config& config, bool* run_command);

/// Asks the URL until the gate opens (Ok), a mismatch outlasts the retries
/// or the deadline (Refused, both versions in the message), anything else
/// does (NotReady), or a stop signal arrives (Interrupted). Logs every
/// attempt with both versions.
Status RunGate(const Options& options, const Deadline& deadline);

}  // namespace initkit::crongate
