// The PHP declaration scanner never fails hard: any bytes give a result
// whose names are well-formed enough for the preload analysis to use.
#include "fuzz/fuzz_target.h"
#include "tools/preload/php_scanner.h"

INITKIT_FUZZ_TARGET(php_scanner) {
  initkit::preload::PhpFileInfo info = initkit::preload::ScanPhp(input);
  for (const initkit::preload::PhpClass& c : info.classes) {
    FUZZ_CHECK(!c.name.empty(), "class without a name");
    FUZZ_CHECK(c.name[0] != '\\', "class name with a leading backslash: " + c.name);
    FUZZ_CHECK(c.line >= 1, "class line " + std::to_string(c.line));
    for (const initkit::preload::PhpMethod& m : c.methods) {
      FUZZ_CHECK(m.lname == initkit::ToLower(m.name), "lname is not lower(name)");
    }
  }
  // Function names only need to be non-empty: a backslash in one is a PHP
  // syntax error ("function \f()"), kept verbatim and harmless to preloading.
  for (const std::string& f : info.functions) FUZZ_CHECK(!f.empty(), "empty function name");
}
