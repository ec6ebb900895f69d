// initkit-cron-gate: the init container of every CronJob pod.
#include "common/config.h"
#include "common/log.h"
#include "common/process.h"
#include "common/signals.h"
#include "tools/cron-gate/gate.h"
#include "tools/cron-gate/options.h"

int main(int argc, char** argv) {
  initkit::signals::Install();
  initkit::Config config;
  const initkit::ToolSpec spec = initkit::crongate::GateToolSpec();
  if (int code = initkit::ParseAndInit(spec, argc, argv, &config); code >= 0) return code;

  initkit::crongate::Options options;
  initkit::crongate::Outcome outcome = initkit::crongate::Outcome::kOpen;
  initkit::Status st =
      initkit::crongate::OptionsFromConfig(config, initkit::CurrentEnvironment(), &options);
  if (st.ok()) st = initkit::crongate::Run(options, &outcome);
  if (st.ok() && outcome == initkit::crongate::Outcome::kOpen && !options.command.empty()) {
    st = initkit::ExecReplace(options.command);
  }
  if (!st.ok()) {
    initkit::log::Error(st.message(), {{"exit_code", st.ExitCode()}});
    return st.ExitCode();
  }
  return 0;
}
