// initkit-bootstrap: init container 1, copies the app into the shared emptyDir.
// The work is RunFromConfig; ToolMain parses, maps the exit code, writes the
// termination message and execs `-- CMD`.
#include "common/tool_main.h"
#include "tools/bootstrap/bootstrap.h"
#include "tools/bootstrap/fs_util.h"
#include "tools/bootstrap/options.h"

int main(int argc, char** argv) {
  // First, while this is the only thread (ToolMain starts the signal thread).
  initkit::bootstrap::ReserveFdTable(initkit::bootstrap::kFdTableSlots);
  return initkit::ToolMain(initkit::bootstrap::BootstrapToolSpec(), argc, argv,
                           initkit::bootstrap::RunFromConfig);
}
