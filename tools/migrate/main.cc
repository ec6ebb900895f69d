// initkit-migrate: replaces init_migrate.php (see tools/migrate/README.md).
#include <cstdio>

#include "common/config.h"
#include "common/log.h"
#include "common/signals.h"
#include "tools/migrate/migrate.h"

int main(int argc, char** argv) {
  initkit::signals::Install();
  initkit::Config config;
  int early = initkit::ParseAndInit(initkit::migrate::Spec(), argc, argv, &config);
  if (early >= 0) return early;

  initkit::migrate::Options options;
  initkit::Status st = initkit::migrate::OptionsFromConfig(config, &options);
  if (st.ok()) {
    if (options.dry_run) {
      (void)std::fputs(initkit::migrate::DryRunPlan(options).c_str(), stdout);
    } else if (options.status) {
      std::string json;
      st = initkit::migrate::StatusReport(options, &json);
      std::printf("%s\n", json.c_str());
    } else {
      st = initkit::migrate::Run(options);
    }
  }
  (void)std::fflush(stdout);
  int code = st.ExitCode();
  if (!st.ok()) initkit::log::Error(st.message(), {{"exit_code", code}});
  return code;
}
