// initkit-cron-gate: the init container of every CronJob pod.
// The work is RunFromConfig; ToolMain parses, maps the exit code, writes the
// termination message and execs `-- CMD` when the gate opened.
#include "common/tool_main.h"
#include "tools/cron-gate/gate.h"
#include "tools/cron-gate/options.h"

int main(int argc, char** argv) {
  return initkit::ToolMain(initkit::crongate::GateToolSpec(), argc, argv,
                           initkit::crongate::RunFromConfig);
}
