// initkit-secrets: the Argo CD sync hook that prepares an app's secrets.
#include <cstdio>

#include "common/config.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/signals.h"
#include "tools/secrets/options.h"
#include "tools/secrets/secrets.h"

// Only std::bad_alloc can escape, and terminating is the right answer to it.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  initkit::signals::Install();
  initkit::Config config;
  const initkit::ToolSpec spec = initkit::secrets::SecretsToolSpec();
  if (int code = initkit::ParseAndInit(spec, argc, argv, &config); code >= 0) return code;

  initkit::secrets::Options options;
  nlohmann::json summary;
  initkit::Status st =
      initkit::secrets::OptionsFromConfig(config, initkit::secrets::SecretsEnvironment(), &options);
  if (st.ok()) st = initkit::secrets::Run(options, &summary);
  if (!st.ok()) {
    summary["error"] = st.message();
    summary["exit_code"] = st.ExitCode();
  }
  // The summary holds key names and actions only; Redact guards the error text.
  if (!summary.is_null()) {
    std::printf("%s\n", initkit::log::Redact(initkit::DumpJson(summary)).c_str());
  }
  if (!st.ok()) {
    initkit::log::Error(st.message(), {{"exit_code", st.ExitCode()}});
    return st.ExitCode();
  }
  return 0;
}
