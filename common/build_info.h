// Build information for --version: the tool's version, the commit it was
// built from, and the versions of the libraries linked into this binary.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace initkit {

/// The project version (CMake's PROJECT_VERSION), e.g. "0.1.0".
const char* BuildVersion();

/// The commit the binary was built from (12 hex digits), or "unknown" when
/// it was not built from a git checkout. It lives in one generated source
/// file (build-dir/generated/build_commit.cc), so a new commit recompiles
/// that file only; -DINITKIT_COMMIT=... sets it for builds without .git.
const char* BuildCommit();

/// {name, version} of each library this binary links, read from the
/// library at run time where a linked function reports one
/// (OpenSSL_version_num, zlibVersion, gnu_get_libc_version); MariaDB
/// Connector/C, hiredis and libcurl (whose curl_version_info no tool calls,
/// so a static link leaves it out) are given by their headers' versions
/// when the binary links them. Only what the binary links is listed: the
/// probes are weak references, which pull nothing in.
std::vector<std::pair<std::string, std::string>> LinkedLibraries();

/// The --version text: "<tool> <version>\ncommit <commit>\n" then one
/// "<library> <version>" line per linked library.
std::string VersionText(const std::string& tool);

}  // namespace initkit
