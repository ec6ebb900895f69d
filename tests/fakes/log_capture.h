// Captures the log records a block of code writes (stderr, fd 2) and picks
// the JSON records out of them, for tests of what a user sees.
#pragma once

#include <stdio.h>
#include <unistd.h>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/fakes/test_util.h"

namespace initkit::testing {

/// Everything written to stderr while `fn` runs.
inline std::string CaptureStderr(const std::function<void()>& fn) {
  TempDir dir;
  const std::string path = dir.Sub("stderr");
  (void)fflush(stderr);
  int saved = dup(2);
  FILE* f = fopen(path.c_str(), "w");
  dup2(fileno(f), 2);
  fn();
  (void)fflush(stderr);
  dup2(saved, 2);
  close(saved);
  (void)fclose(f);
  return ReadFile(path);
}

/// The JSON records in `out` whose "msg" is `msg`.
inline std::vector<nlohmann::json> RecordsWithMsg(const std::string& out, const std::string& msg) {
  std::vector<nlohmann::json> records;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("msg", "") == msg) records.push_back(std::move(j));
  }
  return records;
}

}  // namespace initkit::testing
