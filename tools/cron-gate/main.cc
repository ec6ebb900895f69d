// initkit-cron-gate: the init container of every CronJob pod.
#include "common/config.h"
#include "common/log.h"
#include "common/process.h"
#include "common/signals.h"
#include "tools/cron-gate/gate.h"

int main(int argc, char** argv) {
  initkit::signals::Install();
  initkit::Config config;
  const initkit::ToolSpec spec = initkit::crongate::GateToolSpec();
  if (int code = initkit::ParseAndInit(spec, argc, argv, &config); code >= 0) return code;

  initkit::crongate::GateOptions options;
  initkit::Status st = initkit::crongate::OptionsFromConfig(config, &options);
  if (st.ok()) st = initkit::crongate::RunCronGate(options);
  if (st.ok() && !config.command().empty()) st = initkit::ExecReplace(config.command());
  if (!st.ok()) {
    initkit::log::Error(st.message(), {{"exit_code", st.ExitCode()}});
    return st.ExitCode();
  }
  return 0;
}
