// Composer's autoload_classmap.php / autoload_psr4.php readers: any text is
// read or refused with a Usage error; every path they return is normalised.
#include "fuzz/fuzz_target.h"
#include "tools/preload/composer_autoload.h"

using initkit::Status;
using initkit::preload::NormalizePath;

namespace {

void CheckPath(const std::string& p) {
  FUZZ_CHECK(NormalizePath(p) == p, "path not normalised: " + p);
}

void CheckError(const Status& st) {
  FUZZ_CHECK(st.kind() == Status::Kind::kUsage, "error is not Usage");
  FUZZ_CHECK(st.message().find("autoload.php") != std::string::npos, "error does not name origin");
}

}  // namespace

INITKIT_FUZZ_TARGET(composer_autoload) {
  const std::string dir = "/app/vendor/composer";
  initkit::preload::ClassMap classes;
  Status st = initkit::preload::ParseClassMap(input, dir, "autoload.php", &classes);
  if (!st.ok()) {
    CheckError(st);
  } else {
    for (const auto& [cls, file] : classes) CheckPath(file);
  }
  initkit::preload::Psr4Map psr4;
  st = initkit::preload::ParsePsr4Map(input, dir, "autoload.php", &psr4);
  if (!st.ok()) {
    CheckError(st);
  } else {
    for (const auto& [prefix, dirs] : psr4) {
      for (const std::string& d : dirs) CheckPath(d);
    }
  }
}
