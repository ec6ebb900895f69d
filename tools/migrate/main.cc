// initkit-migrate: replaces init_migrate.php (see tools/migrate/README.md).
#include "common/tool_main.h"
#include "tools/migrate/migrate.h"

int main(int argc, char** argv) {
  return initkit::ToolMain(initkit::migrate::Spec(), argc, argv, initkit::migrate::RunFromConfig);
}
