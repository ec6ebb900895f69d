// initkit-migrate: replaces init_migrate.php (see tools/migrate/README.md).
#include <cstdio>

#include "common/config.h"
#include "common/log.h"
#include "common/signals.h"
#include "tools/migrate/migrate.h"

int main(int argc, char** argv) {
  using namespace initkit;
  signals::Install();
  Config config;
  int early = ParseAndInit(migrate::Spec(), argc, argv, &config);
  if (early >= 0) return early;
  migrate::Options options;
  Status st = migrate::OptionsFromConfig(config, &options);
  if (st.ok() && options.dry_run) {
    (void)std::fputs(migrate::DryRunPlan(options).c_str(), stdout);
  } else if (st.ok() && options.status) {
    std::string json;
    st = migrate::StatusReport(options, &json);
    (void)std::printf("%s\n", json.c_str());
  } else if (st.ok()) {
    st = migrate::Run(options);
  }
  (void)std::fflush(stdout);
  if (!st.ok()) log::Error(st.message(), {{"exit_code", st.ExitCode()}});
  return st.ExitCode();
}
