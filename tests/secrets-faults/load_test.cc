// Load: 20 concurrent `initkit-secrets sync` against one fake API with
// write conflicts injected. Once-keys must be what the first successful
// writer stored, and every run exits 0 or 1 (conflict bound reached).
#include <atomic>
#include <cstdio>

#include "tests/secrets-faults/harness.h"

namespace initkit::secrets::faults {
namespace {

constexpr int kRuns = 20;

TEST(LoadTest, TwentyConcurrentSyncsWithConflictsAgreeOnTheOnceKeys) {
  Harness h;
  // Another writer gets in before every third PUT (so it is stale: 409), on
  // top of the runs racing each other (POST AlreadyExists, stale PUTs).
  std::atomic<int> puts{0}, injected{0};
  h.k8s().faults().SetIntercept([&](const FakeRequest& req) -> std::optional<FakeResponse> {
    if (req.method == "PUT" && puts++ % 3 == 0) {
      ++injected;
      h.k8s().ModifySecret(kNs, kApp, [](json& s) { s["metadata"]["labels"]["other"] = "1"; });
    }
    return std::nullopt;
  });
  // Two-phase barrier: the first read of every run is held until all 20
  // have read, then their creates until all 20 have tried. So all see no
  // Secret, all generate once-keys, and all race to create it.
  h.k8s().faults().Hold(Request("GET", kAppPath));
  auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<RunningBinary>> runs;
  for (int i = 0; i < kRuns; ++i) runs.push_back(h.StartSync({"--timeout", "120s"}));
  ASSERT_TRUE(h.k8s().faults().WaitHeld(kRuns, std::chrono::seconds(300)));
  h.k8s().faults().ReleaseHeld(FaultHooks::Release::kAnswer, Request("POST", kSecretsPath));
  ASSERT_TRUE(h.k8s().faults().WaitHeld(2 * kRuns, std::chrono::seconds(300)));
  h.k8s().faults().ReleaseHeld(FaultHooks::Release::kAnswer);
  std::map<int, int> codes;
  int created_once = 0;
  for (auto& run : runs) {
    RunOutput r = run->Wait(std::chrono::seconds(300));
    ++codes[r.exit_code];
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << r.err;
    if (r.exit_code == 1) {
      EXPECT_NE(r.err.find("still conflicting"), std::string::npos) << r.err;
      continue;
    }
    json s = Summary(r);
    for (const auto& k : s["created"]) {
      if (OnceOf({{k.get<std::string>(), ""}}).size() == 1) ++created_once;
    }
  }
  auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);

  EXPECT_GE(codes[0], 1);
  Map final_once = h.Once();
  ASSERT_EQ(final_once.size(), 3u);
  EXPECT_EQ(created_once, 3);  // one run generated the three once-keys; all others kept them
  // The first successful writer is the one POST that created the Secret:
  // its once-keys are the final ones, and every PUT of every run carried
  // exactly those (no run ever tried to store a second value).
  int posts = 0, matching_posts = 0, put_bodies = 0;
  for (const FakeRequest& req : h.k8s().request_log()) {
    if (req.path != kSecretsPath && req.path != kAppPath) continue;
    Map once = OnceOf(DataOf(json::parse(req.body, nullptr, false)));
    if (req.method == "POST") {
      ++posts;
      matching_posts += once == final_once;
    } else if (req.method == "PUT") {
      ++put_bodies;
      EXPECT_TRUE(once == final_once) << "a PUT carried different once-keys";
    }
  }
  EXPECT_EQ(matching_posts, 1);
  EXPECT_EQ(posts, kRuns);
  EXPECT_GE(put_bodies, codes[0] - 1);
  EXPECT_TRUE(CompleteBuiltinValues(h.Data()));

  std::string exits;
  for (const auto& [code, n] : codes) exits += " " + std::to_string(n) + "x" + std::to_string(code);
  std::printf(
      "load: %d concurrent syncs in %lld ms; exit codes:%s; 409s served: %d (%d stale PUTs "
      "injected); requests: %d (POST %d, PUT %d)\n",
      kRuns, static_cast<long long>(wall.count()), exits.c_str(), h.k8s().conflicts(),
      injected.load(), h.k8s().requests(), posts, put_bodies);
  RecordProperty("wall_ms", static_cast<int>(wall.count()));
  RecordProperty("conflicts_409", h.k8s().conflicts());
}

}  // namespace
}  // namespace initkit::secrets::faults
