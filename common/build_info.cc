#include "common/build_info.h"

#include <gnu/libc-version.h>

#include <cstdio>

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <mariadb_version.h>
#include <mysql.h>
#include <openssl/crypto.h>
#include <zlib.h>

// Weak references: a binary that does not otherwise link a library gets a
// null pointer here, and neither a static link nor --as-needed pulls the
// library in for --version's sake (bootstrap and preload stay free of TLS
// and database code). A weak undefined symbol never extracts an archive
// member and never makes a shared library needed.
#pragma weak OpenSSL_version_num
#pragma weak curl_easy_init
#pragma weak zlibVersion
#pragma weak mysql_init
#pragma weak redisConnect

namespace initkit {

extern const char kBuildCommit[];  // generated: build-dir/generated/build_commit.cc

const char* BuildVersion() { return INITKIT_VERSION; }

const char* BuildCommit() { return kBuildCommit; }

std::vector<std::pair<std::string, std::string>> LinkedLibraries() {
  std::vector<std::pair<std::string, std::string>> libs;
  // The address of a weak function is null when nothing linked it; the
  // compiler cannot know that, hence the casts through a volatile.
  auto linked = [](auto* fn) {
    void* volatile p = reinterpret_cast<void*>(fn);
    return p != nullptr;
  };
  if (linked(&OpenSSL_version_num)) {
    unsigned long v = OpenSSL_version_num();  // 0xMNN00PP0L (OpenSSL 3)
    char buf[32];
    (void)std::snprintf(buf, sizeof buf, "%lu.%lu.%lu", (v >> 28) & 0xf, (v >> 20) & 0xff,
                        (v >> 4) & 0xff);
    libs.emplace_back("openssl", buf);
  }
  // curl_easy_init, not curl_version_info: a static link keeps only the
  // archive members a tool calls, and no tool calls curl_version_info. The
  // version is the headers' (static: the very library linked; dynamic: the
  // -dev package of the shared library), as for MariaDB Connector/C.
  if (linked(&curl_easy_init)) libs.emplace_back("libcurl", LIBCURL_VERSION);
  if (linked(&mysql_init)) libs.emplace_back("mariadb-connector-c", MARIADB_PACKAGE_VERSION);
  if (linked(&redisConnect)) {
    libs.emplace_back("hiredis", std::to_string(HIREDIS_MAJOR) + "." +
                                     std::to_string(HIREDIS_MINOR) + "." +
                                     std::to_string(HIREDIS_PATCH));
  }
  if (linked(&zlibVersion)) libs.emplace_back("zlib", zlibVersion());
  libs.emplace_back("glibc", gnu_get_libc_version());
  return libs;
}

std::string VersionText(const std::string& tool) {
  std::string out = tool + " " + BuildVersion() + "\ncommit " + BuildCommit() + "\n";
  for (const auto& [name, version] : LinkedLibraries()) out += name + " " + version + "\n";
  return out;
}

}  // namespace initkit
