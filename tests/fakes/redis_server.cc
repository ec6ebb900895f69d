#include "tests/fakes/redis_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "common/redis.h"

namespace initkit::testing {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

RedisServer::~RedisServer() { Stop(); }

bool RedisServer::Start(std::string* error, const std::string& password) {
  dir_ = std::make_unique<TempDir>();
  port_ = FreePort();
  password_ = password;
  RegisterCredential(password, "redis requirepass");
  std::string config = "port " + std::to_string(port_) +
                       "\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir " + dir_->path() +
                       "\nlogfile " + dir_->Sub("redis.log") + "\n";
  if (!password.empty()) config += "requirepass " + password + "\n";
  return Launch(config, false, "", error);
}

bool RedisServer::StartSentinel(std::string* error, const std::string& master_name,
                                int master_port) {
  dir_ = std::make_unique<TempDir>();
  port_ = FreePort();
  std::string config = "port " + std::to_string(port_) + "\nbind 127.0.0.1\ndir " + dir_->path() +
                       "\nlogfile " + dir_->Sub("redis.log") + "\nsentinel monitor " + master_name +
                       " 127.0.0.1 " + std::to_string(master_port) + " 1\n";
  return Launch(config, true, master_name, error);
}

bool RedisServer::Launch(const std::string& config, bool sentinel, const std::string& master_name,
                         std::string* error) {
  std::string conf_path = dir_->Sub("redis.conf");
  std::ofstream(conf_path) << config;
  std::vector<std::string> argv = {"redis-server", conf_path};
  if (sentinel) argv.push_back("--sentinel");
  std::vector<char*> ptrs;
  for (auto& a : argv) ptrs.push_back(a.data());
  ptrs.push_back(nullptr);
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execvp(ptrs[0], ptrs.data());
    _exit(127);
  }
  if (pid_ < 0) {
    *error = "fork failed";
    return false;
  }
  auto deadline = Clock::now() + std::chrono::seconds(60);
  std::string last;
  while (Clock::now() < deadline) {
    int ws = 0;
    if (waitpid(pid_, &ws, WNOHANG) == pid_) {
      pid_ = -1;
      *error = "redis-server exited during start-up: " + Log();
      return false;
    }
    std::unique_ptr<redis::Client> c;
    redis::Reply r;
    Status st = redis::Client::ConnectTcp("127.0.0.1", port_, std::chrono::seconds(2), &c);
    if (st.ok() && !password_.empty()) st = c->Command({"AUTH", password_}, &r);
    if (st.ok()) {
      st = sentinel ? c->Command({"SENTINEL", "get-master-addr-by-name", master_name}, &r)
                    : c->Command({"PING"}, &r);
      if (st.ok() && (!sentinel || r.type == redis::Reply::Type::kArray)) return true;
    }
    last = st.message();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *error = "redis-server did not answer within 60 s (" + last + "): " + Log();
  Stop();
  return false;
}

void RedisServer::Stop() { TerminateProcess(&pid_, std::chrono::seconds(30)); }

std::string RedisServer::Log() const {
  if (!dir_) return "";
  std::string s = ReadFile(dir_->Sub("redis.log"));
  return s.size() > 3000 ? s.substr(s.size() - 3000) : s;
}

}  // namespace initkit::testing
