// initkit-preload: writes an OPcache preload list PHP loads without warnings.
#include "common/tool_main.h"
#include "tools/preload/options.h"
#include "tools/preload/preload.h"

int main(int argc, char** argv) {
  return initkit::ToolMain(initkit::preload::PreloadToolSpec(), argc, argv,
                           initkit::preload::RunFromConfig);
}
