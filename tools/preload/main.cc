// initkit-preload: writes an OPcache preload list PHP loads without warnings.
#include <malloc.h>

#include "common/tool_main.h"
#include "tools/preload/options.h"
#include "tools/preload/preload.h"

int main(int argc, char** argv) {
  // The scan builds ~50 MB of small objects on two threads; glibc grows a
  // thread's heap a little at a time (about 2,000 mprotect calls on the
  // fixture app). Growing it 8 MB at a time costs no memory until touched.
  mallopt(M_TOP_PAD, 8 << 20);
  return initkit::ToolMain(initkit::preload::PreloadToolSpec(), argc, argv,
                           initkit::preload::RunFromConfig);
}
