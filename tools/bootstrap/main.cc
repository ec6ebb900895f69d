// initkit-bootstrap: init container 1, copies the app into the shared emptyDir.
// Everything but the exit-code mapping and `-- CMD` is in RunFromConfig.
#include "common/config.h"
#include "common/log.h"
#include "common/process.h"
#include "common/signals.h"
#include "tools/bootstrap/bootstrap.h"
#include "tools/bootstrap/options.h"

int main(int argc, char** argv) {
  initkit::signals::Install();
  initkit::Config config;
  if (int code =
          initkit::ParseAndInit(initkit::bootstrap::BootstrapToolSpec(), argc, argv, &config);
      code >= 0) {
    return code;
  }
  initkit::Status st = initkit::bootstrap::RunFromConfig(config);
  if (st.ok() && !config.command().empty()) st = initkit::ExecReplace(config.command());
  if (!st.ok()) initkit::log::Error(st.message(), {{"exit_code", st.ExitCode()}});
  return st.ExitCode();
}
