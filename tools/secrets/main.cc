// initkit-secrets: the Argo CD sync hook that prepares an app's secrets.
#include "common/tool_main.h"
#include "tools/secrets/options.h"
#include "tools/secrets/secrets.h"

int main(int argc, char** argv) {
  return initkit::ToolMain(initkit::secrets::SecretsToolSpec(), argc, argv,
                           initkit::secrets::RunFromConfig);
}
