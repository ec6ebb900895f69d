// Alternating-users rotation end to end with a real MariaDB and the fake API.
// The test plays the database operator (after each `initkit-secrets sync` it
// reads the Secret and applies each user's password with ALTER USER) and the
// Deployment controller (a rollout completes when the test says so), and runs
// "pods": threads opening connection after connection with the credentials
// they started with. The acceptance figures (connections tried / failed per
// pod) are printed; no credential is, every one is registered.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "common/db.h"
#include "tests/fakes/deployment_json.h"
#include "tests/fakes/mariadb_server.h"
#include "tests/secrets-faults/harness.h"

namespace initkit::secrets::faults {
namespace {

using testing::MariaDbServer;

constexpr const char* kDb = "rotation";
constexpr const char* kWebPath = "/apis/apps/v1/namespaces/shop/deployments/web";
constexpr const char* kSpec = R"({
  "secret": "app",
  "alternating-users": {"APP_DB": {
    "users": ["shop_a", "shop_b"],
    "password-keys": ["APP_DB_PASSWORD_A", "APP_DB_PASSWORD_B"],
    "user-key": "APP_DB_USER",
    "password-key": "APP_DB_DEFAULT_PWD"}}
})";
// Connections a pod must have tried after an event before the test goes on:
// enough to be sure it connected after the operator's change, few under ASan.
constexpr int kConnectsAfterEvent = 20;
// Bounds of a pod's loop, whatever happens to the test.
constexpr int kMaxConnectsPerPod = 20000;
constexpr auto kPodLifetime = std::chrono::seconds(120);

/// One running pod: connects again and again with the credentials it was
/// started with (its env), until stopped or its bounds are reached.
class Pod {
 public:
  Pod(std::string name, int port, std::string user, std::string password)
      : name_(std::move(name)), user_(std::move(user)) {
    options_.port = port;
    options_.user = user_;
    options_.password = std::move(password);
    options_.database = kDb;
    thread_ = std::thread([this] { Loop(); });
  }
  ~Pod() { Stop(); }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  /// Waits until the pod has tried `n` more connections than `since`.
  bool WaitTried(int since, int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return tried_ >= since + n || done_; }) &&
           tried_ >= since + n;
  }
  int tried() const {
    std::lock_guard<std::mutex> lock(mu_);
    return tried_;
  }
  int failed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_;
  }
  std::string first_error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return first_error_;
  }
  const std::string& name() const { return name_; }
  const std::string& user() const { return user_; }

 private:
  void Loop() {
    auto end = std::chrono::steady_clock::now() + kPodLifetime;
    for (int i = 0; i < kMaxConnectsPerPod && std::chrono::steady_clock::now() < end; ++i) {
      std::unique_ptr<db::Connection> c;
      Status st = db::Connection::Open(options_, &c);
      if (st.ok()) st = c->Execute("SELECT 1", "pod query");
      c.reset();
      std::unique_lock<std::mutex> lock(mu_);
      ++tried_;
      if (!st.ok()) {
        ++failed_;
        if (first_error_.empty()) first_error_ = st.message();
      }
      cv_.notify_all();
      // Pacing, not synchronisation: leaves the two cores to the syncs.
      if (cv_.wait_for(lock, std::chrono::milliseconds(2), [&] { return stop_; })) break;
    }
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

  const std::string name_;
  const std::string user_;
  db::ConnectOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool done_ = false;
  int tried_ = 0;
  int failed_ = 0;
  std::string first_error_;
  std::thread thread_;
};

class RotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    server_ = MariaDbServer::Shared(&err);
    ASSERT_NE(server_, nullptr) << err;
    ASSERT_TRUE(server_->CreateDatabase(kDb, &err)) << err;
    // Both users exist with the same grants before any sync; their first
    // passwords are the operator's until the Secret says otherwise.
    for (const char* user : {"shop_a", "shop_b"}) {
      std::string pw = "Initial-" + std::string(user) + "-pw-5d0c";
      testing::RegisterCredential(pw, "initial password");
      for (const std::string& sql :
           {"DROP USER IF EXISTS '" + std::string(user) + "'@'%'",
            "CREATE USER '" + std::string(user) + "'@'%' IDENTIFIED BY '" + pw + "'",
            "GRANT ALL ON `" + std::string(kDb) + "`.* TO '" + user + "'@'%'"}) {
        ASSERT_TRUE(server_->Exec(sql, &err)) << err;
      }
    }
    spec_ = h_.dir().Sub("spec.json");
    testing::WriteFile(spec_, kSpec);
    h_.k8s().SetObject(kWebPath, Web());
  }

  static json Web() { return testing::DeploymentJson(1, 1, 2, 2, 2, 2); }

  json SyncOk() {
    RunOutput r = h_.Sync({"--spec", spec_, "--restart", "deployment/web"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Summary(r);
  }

  /// The Secret as it is now; every password in it registered.
  Map Secret() {
    Map d = h_.Data();
    for (const char* k : {"APP_DB_PASSWORD_A", "APP_DB_PASSWORD_B", "APP_DB_DEFAULT_PWD"}) {
      testing::RegisterCredential(d[k], "rotated password");
    }
    return d;
  }

  /// The operator: makes both users' passwords follow the Secret.
  void ApplyPasswords() {
    Map d = Secret();
    std::string err;
    for (auto [user, key] :
         {std::pair{"shop_a", "APP_DB_PASSWORD_A"}, std::pair{"shop_b", "APP_DB_PASSWORD_B"}}) {
      ASSERT_EQ(d[key].size(), 32u);  // hex: safe inside quotes
      ASSERT_TRUE(server_->Exec(
          "ALTER USER '" + std::string(user) + "'@'%' IDENTIFIED BY '" + d[key] + "'", &err))
          << err;
    }
  }

  /// The Deployment controller: the current template is rolled out.
  void FinishRollout() {
    json d;
    ASSERT_TRUE(h_.k8s().GetObject(kWebPath, &d));
    d["status"]["observedGeneration"] = d["metadata"]["generation"];
    h_.k8s().SetObject(kWebPath, d);
  }

  std::unique_ptr<Pod> StartPod(const std::string& name) {
    Map d = Secret();
    return std::make_unique<Pod>(name, server_->port(), d["APP_DB_USER"], d["APP_DB_DEFAULT_PWD"]);
  }

  MariaDbServer* server_ = nullptr;
  Harness h_;
  std::string spec_;
};

TEST_F(RotationTest, ThreeSyncsUnderLoadFailNoPodThatWasReplacedInTime) {
  auto start = std::chrono::steady_clock::now();
  json s = SyncOk();  // the first sync creates both passwords, shop_a active
  ASSERT_EQ(s["alternating_users"][0]["action"], "created");
  ApplyPasswords();

  std::vector<std::unique_ptr<Pod>> running, replaced;
  running.push_back(StartPod("gen0-a"));
  running.push_back(StartPod("gen0-b"));
  // Never replaced: its user's password changes at the sync after next.
  std::unique_ptr<Pod> straggler = StartPod("gen0-straggler");
  for (auto& p : running) ASSERT_TRUE(p->WaitTried(0, kConnectsAfterEvent)) << p->name();
  int straggler_failed_before_sync2 = -1;

  for (int sync = 1; sync <= 3; ++sync) {
    SCOPED_TRACE("sync " + std::to_string(sync));
    Map before = Secret();
    s = SyncOk();
    EXPECT_EQ(s["alternating_users"][0]["action"], "switched");
    EXPECT_EQ(s["restarted"], json({"deployment/web"}));
    Map after = Secret();
    ASSERT_NE(after["APP_DB_USER"], before["APP_DB_USER"]);
    std::string held =
        before["APP_DB_USER"] == "shop_a" ? "APP_DB_PASSWORD_A" : "APP_DB_PASSWORD_B";
    EXPECT_TRUE(after[held] == before[held]) << "the user the running pods hold was rotated";
    EXPECT_FALSE(after["APP_DB_DEFAULT_PWD"] == before["APP_DB_DEFAULT_PWD"]);

    // A second sync while the restart is still rolling out rotates nothing.
    RunOutput r = h_.Sync({"--spec", spec_, "--restart", "deployment/web"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Summary(r)["alternating_users"][0]["action"], "held");
    EXPECT_NE(r.err.find("kept both database passwords"), std::string::npos) << r.err;
    EXPECT_TRUE(Secret() == after) << "a sync before the rollout finished changed the Secret";

    // migrate (a PreSync Job) started before the operator caught up waits.
    std::unique_ptr<RunningBinary> migrate;
    std::string marker = h_.dir().Sub("migrated-" + std::to_string(sync));
    if (sync == 1) {
      std::vector<std::string> flags = server_->MigrateFlags(kDb);
      for (size_t i = 0; i + 1 < flags.size(); ++i) {
        if (flags[i] == "--db-user") flags[i + 1] = after["APP_DB_USER"];
        if (flags[i] == "--db-password") flags[i + 1] = after["APP_DB_DEFAULT_PWD"];
      }
      flags.insert(flags.end(), {"--migrate-cmd", "touch " + marker, "--wait-timeout", "120s"});
      migrate = std::make_unique<RunningBinary>(testing::BinPath("initkit-migrate"), flags);
      ASSERT_TRUE(migrate->WaitForStderr("may not have propagated", kWait));
      EXPECT_NE(access(marker.c_str(), F_OK), 0) << "migrated before the password was applied";
    }

    ApplyPasswords();
    if (migrate) {
      RunOutput m = migrate->Wait(kWait);
      EXPECT_EQ(m.exit_code, 0) << m.err;
      EXPECT_EQ(access(marker.c_str(), F_OK), 0);
    }
    // Old pods keep connecting after the operator applied this sync.
    for (auto& p : running) ASSERT_TRUE(p->WaitTried(p->tried(), kConnectsAfterEvent)) << p->name();
    ASSERT_TRUE(straggler->WaitTried(straggler->tried(), kConnectsAfterEvent));
    if (sync == 2) {
      EXPECT_GT(straggler->failed(), straggler_failed_before_sync2)
          << "the straggler's user was not rotated at the sync after next";
    } else if (sync == 1) {
      straggler_failed_before_sync2 = straggler->failed();
    }

    // The rollout: new pods start with the new credentials, old ones go.
    std::vector<std::unique_ptr<Pod>> fresh;
    for (const char* suffix : {"-a", "-b"}) {
      fresh.push_back(StartPod("gen" + std::to_string(sync) + suffix));
      EXPECT_EQ(fresh.back()->user(), after["APP_DB_USER"]);
    }
    for (auto& p : fresh) ASSERT_TRUE(p->WaitTried(0, kConnectsAfterEvent)) << p->name();
    FinishRollout();
    for (auto& p : running) {
      p->Stop();
      replaced.push_back(std::move(p));
    }
    running = std::move(fresh);
  }
  for (auto& p : running) {
    p->Stop();
    replaced.push_back(std::move(p));
  }
  straggler->Stop();
  auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);

  int tried = 0, failed = 0;
  for (auto& p : replaced) {
    std::printf("rotation: pod %-14s user %s tried %5d failed %d\n", p->name().c_str(),
                p->user().c_str(), p->tried(), p->failed());
    tried += p->tried();
    failed += p->failed();
    EXPECT_EQ(p->failed(), 0) << p->name() << ": " << p->first_error();
  }
  std::printf(
      "rotation: %zu pods replaced in time: %d connections, %d failed; straggler (never "
      "replaced, user %s): tried %d failed %d (0 before the sync after next: %s); %lld ms\n",
      replaced.size(), tried, failed, straggler->user().c_str(), straggler->tried(),
      straggler->failed(), straggler_failed_before_sync2 == 0 ? "yes" : "no",
      static_cast<long long>(wall.count()));
  EXPECT_EQ(straggler_failed_before_sync2, 0) << straggler->first_error();
  EXPECT_NE(straggler->first_error().find("1045"), std::string::npos) << straggler->first_error();
}

}  // namespace
}  // namespace initkit::secrets::faults
