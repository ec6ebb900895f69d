// initkit-bootstrap: init container 1, copies the app into the shared emptyDir.
#include <iostream>

#include "common/config.h"
#include "common/log.h"
#include "common/process.h"
#include "common/signals.h"
#include "tools/bootstrap/bootstrap.h"
#include "tools/bootstrap/options.h"

int main(int argc, char** argv) {
  initkit::signals::Install();
  initkit::Config config;
  const initkit::ToolSpec spec = initkit::bootstrap::BootstrapToolSpec();
  if (int code = initkit::ParseAndInit(spec, argc, argv, &config); code >= 0) return code;

  initkit::bootstrap::Options options;
  initkit::bootstrap::RunSummary summary;
  initkit::Status st = initkit::bootstrap::OptionsFromConfig(config, &options);
  if (st.ok()) st = initkit::bootstrap::Run(options, std::cout, &summary);
  if (st.ok() && !options.dry_run) {
    initkit::log::Info("copy complete", {{"files", summary.files},
                                         {"files_copied", summary.files_copied},
                                         {"files_skipped", summary.files_skipped},
                                         {"deleted", summary.deleted},
                                         {"bytes", summary.bytes},
                                         {"bytes_copied", summary.bytes_copied},
                                         {"seconds", summary.seconds},
                                         {"to", options.to}});
  }
  if (st.ok() && !config.command().empty()) st = initkit::ExecReplace(config.command());
  if (!st.ok()) {
    initkit::log::Error(st.message(), {{"exit_code", st.ExitCode()}});
    return st.ExitCode();
  }
  return 0;
}
