// One fuzz target = one INITKIT_FUZZ_TARGET(name) { ... } body over (data, size).
//
// Why a macro: the same body is the libFuzzer entry point in the clang fuzz
// build (INITKIT_LIBFUZZER, one binary per target) and a registered function
// in the ordinary test build, where tests/fuzz-replay replays every corpus
// and regression file through it, so a fixed crash stays fixed without clang.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace initkit::fuzz {

using TargetFn = void (*)(std::string_view input);

struct Target {
  const char* name;
  TargetFn fn;
};

/// Every target linked into this binary (replay build only).
inline std::vector<Target>& Targets() {
  static std::vector<Target> targets;
  return targets;
}

inline int Register(const char* name, TargetFn fn) {
  Targets().push_back({name, fn});
  return 0;
}

/// A broken invariant. Under libFuzzer it aborts (a crash with the input
/// saved); in the replay build it throws so the test names target and file.
[[noreturn]] inline void Fail(const char* file, int line, const std::string& what) {
#ifdef INITKIT_LIBFUZZER
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, what.c_str());
  std::abort();
#else
  throw std::logic_error(std::string(file) + ":" + std::to_string(line) +
                         ": fuzz invariant failed: " + what);
#endif
}

}  // namespace initkit::fuzz

/// Checks an invariant; `what` (a std::string expression) is only built on failure.
#define FUZZ_CHECK(cond, what)                                      \
  do {                                                              \
    if (!(cond)) ::initkit::fuzz::Fail(__FILE__, __LINE__, (what)); \
  } while (0)

#ifdef INITKIT_LIBFUZZER
#define INITKIT_FUZZ_TARGET(name)                                                    \
  static void InitkitFuzz_##name(std::string_view input);                            \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {          \
    InitkitFuzz_##name(std::string_view(reinterpret_cast<const char*>(data), size)); \
    return 0;                                                                        \
  }                                                                                  \
  static void InitkitFuzz_##name(std::string_view input)
#else
#define INITKIT_FUZZ_TARGET(name)                                    \
  static void InitkitFuzz_##name(std::string_view input);            \
  [[maybe_unused]] static const int initkit_fuzz_registered_##name = \
      ::initkit::fuzz::Register(#name, InitkitFuzz_##name);          \
  static void InitkitFuzz_##name(std::string_view input)
#endif
