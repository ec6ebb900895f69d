// initkit-preload: writes an OPcache preload list PHP loads without warnings.
#include <malloc.h>

#include "common/config.h"
#include "common/log.h"
#include "common/signals.h"
#include "tools/preload/options.h"
#include "tools/preload/preload.h"

int main(int argc, char** argv) {
  // The scan builds ~50 MB of small objects on two threads; glibc grows a
  // thread's heap a little at a time (about 2,000 mprotect calls on the
  // fixture app). Growing it 8 MB at a time costs no memory until touched.
  mallopt(M_TOP_PAD, 8 << 20);
  initkit::signals::Install();
  initkit::Config config;
  if (int code = initkit::ParseAndInit(initkit::preload::PreloadToolSpec(), argc, argv, &config);
      code >= 0) {
    return code;
  }
  initkit::preload::Options options;
  initkit::preload::RunSummary summary;
  initkit::Status st = initkit::preload::OptionsFromConfig(config, &options);
  if (st.ok()) st = initkit::preload::Run(options, &summary);
  if (!st.ok()) {
    initkit::log::Error(st.message(), {{"exit_code", st.ExitCode()}});
    return st.ExitCode();
  }
  initkit::log::Info(
      "preload list written",
      {{"output", options.output},
       {"files", static_cast<unsigned long>(summary.preloaded_files)},
       {"classes", static_cast<unsigned long>(summary.preloaded_classes)},
       {"left_out", static_cast<unsigned long>(summary.excluded_files)},
       {"estimated_bytes", static_cast<unsigned long long>(summary.estimated_bytes)}});
  return 0;
}
