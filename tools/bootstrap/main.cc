// initkit-bootstrap: init container 1, copies the app into the shared emptyDir.
// The work is RunFromConfig; ToolMain parses, maps the exit code, writes the
// termination message and execs `-- CMD`.
#include "common/tool_main.h"
#include "tools/bootstrap/bootstrap.h"
#include "tools/bootstrap/options.h"

int main(int argc, char** argv) {
  return initkit::ToolMain(initkit::bootstrap::BootstrapToolSpec(), argc, argv,
                           initkit::bootstrap::RunFromConfig);
}
