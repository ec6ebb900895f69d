#include "tests/fakes/php_judge.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>

namespace initkit::testing {

std::string Php82() { return ::access("/usr/bin/php8.2", X_OK) == 0 ? "/usr/bin/php8.2" : ""; }

size_t CountOf(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

PreloadLoad LoadPreload(const std::string& php, const std::string& preload, const TempDir& tmp) {
  std::string script = tmp.Sub("count-preloaded.php");
  WriteFile(script,
            "<?php\n$c = opcache_get_status(true)['preload_statistics']['classes'] ?? [];\n"
            "$c = array_filter($c, fn($n) => !str_contains($n, '@anonymous'));\n"
            "echo 'classes=', count($c), \"\\n\", implode(\"\\n\", $c), \"\\n\";\n");
  RunOutput r = RunBinary(php, {"-d",  "display_startup_errors=1",
                                "-d",  "error_reporting=-1",
                                "-d",  "display_errors=0",
                                "-d",  "log_errors=1",
                                "-d",  "opcache.enable=1",
                                "-d",  "opcache.enable_cli=1",
                                "-d",  "opcache.preload=" + preload,
                                "-d",  "opcache.preload_user=root",
                                "-d",  "opcache.memory_consumption=1024",
                                "-d",  "opcache.interned_strings_buffer=128",
                                "-d",  "opcache.max_accelerated_files=100000",
                                script},
                          {}, std::chrono::seconds(300));
  PreloadLoad p;
  p.exit_code = r.exit_code;
  p.output = r.out + r.err;
  p.cant_preload = CountOf(p.output, "Can't preload");
  size_t at = r.out.find("classes=");
  if (at == std::string::npos) return p;
  std::set<std::string> refused;
  for (size_t w = p.output.find("Can't preload "); w != std::string::npos;
       w = p.output.find("Can't preload ", w + 1)) {
    size_t c = p.output.find("class ", w);
    if (c == std::string::npos) break;
    size_t e = p.output.find_first_of(": \n", c + 6);
    refused.insert(p.output.substr(c + 6, e - c - 6));
  }
  std::string list = r.out.substr(r.out.find('\n', at) + 1);
  for (size_t b = 0, e; b < list.size(); b = e + 1) {
    e = list.find('\n', b);
    if (e == std::string::npos) e = list.size();
    if (e == b || refused.count(list.substr(b, e - b))) continue;
    ++p.classes;
    p.class_list += list.substr(b, e - b) + "\n";
  }
  return p;
}

std::string FixtureCacheRoot() {
  if (const char* c = std::getenv("INITKIT_FIXTURE_CACHE"); c && *c) return c;
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/initkit";
  return "/tmp/initkit-cache";
}

std::string BuildOnce(const std::string& name, const std::string& script, std::string* why) {
  namespace fs = std::filesystem;
  const std::string root = FixtureCacheRoot();
  const std::string dir = root + "/" + name;
  std::error_code ec;
  fs::create_directories(root, ec);
  int lock = ::open((dir + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
    if (lock >= 0) ::close(lock);
    *why = "cannot lock the fixture cache " + root;
    return "";
  }
  if (!fs::exists(dir + "/.initkit-complete")) {
    RunOutput r =
        RunBinary("/bin/bash", {script, dir + ".building"}, {}, std::chrono::seconds(600));
    if (r.exit_code != 0) {
      *why = fs::path(script).filename().string() + " failed: " + r.err;
    } else {
      fs::remove_all(dir, ec);
      fs::rename(dir + ".building", dir, ec);
      WriteFile(dir + "/.initkit-complete", r.out);
    }
  }
  ::close(lock);
  return why->empty() ? dir : "";
}

}  // namespace initkit::testing
