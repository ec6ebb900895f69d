// The one retry/deadline loop: backoff, deadline, attempts, server-given
// waits and progress records, on a fake clock (no test here waits).
#include "common/retry.h"

#include <signal.h>
#include <unistd.h>

#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/config.h"
#include "common/log.h"
#include "common/signals.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/log_capture.h"
#include "tests/fakes/test_util.h"

namespace initkit {
namespace {

using testing::FakeClock;

using testing::CaptureStderr;

std::vector<nlohmann::json> Records(const std::string& out, const std::string& msg) {
  return testing::RecordsWithMsg(out, msg);
}

class RetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::Init("initkit-test", log::Format::kJson, log::Level::kInfo);
    SetProgressInterval(Millis(5000));
  }
  void TearDown() override { SetProgressInterval(Millis(5000)); }
  FakeClock clock_;
};

TEST_F(RetryTest, TransientErrorsRetryUntilOkPermanentOnesStopAtOnce) {
  int calls = 0;
  Status st = Retry("thing", {.initial = Millis(1), .max = Millis(5)},
                    Deadline::After(Millis(2000), clock_), [&](int n) {
                      ++calls;
                      return n < 3 ? Status::NotReady("later") : Status::Ok();
                    });
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(calls, 3);
  calls = 0;
  st = Retry("thing", {.initial = Millis(1)}, Deadline::After(Millis(2000), clock_), [&](int) {
    ++calls;
    return Status::Failed("denied");
  });
  EXPECT_EQ(st.ExitCode(), 1);
  EXPECT_EQ(calls, 1);
}

TEST_F(RetryTest, MaxAttemptsEndsWithTheLastError) {
  int calls = 0;
  Status st =
      Retry("thing", {.initial = Millis(1), .max_attempts = 4}, Deadline::Never(clock_), [&](int) {
        ++calls;
        return Status::NotReady("down");
      });
  EXPECT_EQ(st.ExitCode(), 124);
  EXPECT_EQ(calls, 4);
  EXPECT_NE(st.message().find("gave up after 4 attempts: down"), std::string::npos) << st.message();
}

TEST_F(RetryTest, NeverWaitsPastTheDeadlineAndNamesBothErrors) {
  auto deadline = Deadline::After(Millis(30000), clock_);
  int calls = 0;
  Status st = Retry("waiting for thing", {.initial = Millis(100), .max = Millis(8000)}, deadline,
                    [&](int n) {
                      ++calls;
                      return Status::NotReady(n == 1 ? "refused" : "timed out");
                    });
  EXPECT_EQ(st.ExitCode(), 124);
  EXPECT_EQ(st.message(),
            "waiting for thing: not ready before the deadline: timed out (before that: refused)");
  // The waits add up to the deadline, not a step beyond it.
  EXPECT_EQ(clock_.Total(), Millis(30000));
  EXPECT_GT(calls, 5);
}

TEST_F(RetryTest, BackoffGrowsToItsCapWithoutJitter) {
  Backoff b({.initial = Millis(100), .max = Millis(500), .multiplier = 2.0, .jitter = 0});
  EXPECT_EQ(b.Next(), Millis(100));
  EXPECT_EQ(b.Next(), Millis(200));
  EXPECT_EQ(b.Next(), Millis(400));
  EXPECT_EQ(b.Next(), Millis(500));
  EXPECT_EQ(b.Next(), Millis(500));
  Backoff jittered({.initial = Millis(1000), .max = Millis(1000), .jitter = 0.2});
  for (int i = 0; i < 100; ++i) {
    Millis w = jittered.Next();
    EXPECT_GE(w, Millis(800));
    EXPECT_LE(w, Millis(1200));
  }
}

TEST_F(RetryTest, ServerGivenWaitReplacesTheBackoffStep) {
  std::vector<Clock::time_point> at;
  Status st = Retry("api", {.initial = Millis(10), .jitter = 0},
                    Deadline::After(Millis(60000), clock_), [&](Attempt& a) {
                      at.push_back(clock_.Now());
                      if (a.number == 1) a.retry_after = Millis(7000);
                      return a.number < 3 ? Status::NotReady("429") : Status::Ok();
                    });
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(at.size(), 3u);
  EXPECT_EQ(at[1] - at[0], Millis(7000));  // the server's wait
  EXPECT_EQ(at[2] - at[1], Millis(10));    // back to the backoff sequence
  // ...and never past the deadline.
  FakeClock c2;
  int calls = 0;
  st = Retry("api", {}, Deadline::After(Millis(3000), c2), [&](Attempt& a) {
    ++calls;
    a.retry_after = Millis(3600 * 1000);
    return Status::NotReady("503");
  });
  EXPECT_EQ(st.ExitCode(), 124);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(c2.Total(), Millis(3000));
}

// Issue acceptance: a 12 s wait with --progress-interval 2s logs at least
// five progress records, each with attempt, elapsed, time left and the last error.
TEST_F(RetryTest, TwelveSecondWaitLogsProgressEveryTwoSeconds) {
  SetProgressInterval(Millis(2000));
  Status st;
  std::string out = CaptureStderr([&] {
    st = Retry("waiting for MariaDB at app@db:3306/shop", BackoffPolicy{},
               Deadline::After(Millis(12000), clock_),
               [&](int) { return Status::NotReady("connection refused (error 2002)"); });
  });
  EXPECT_EQ(st.ExitCode(), 124);
  auto records = Records(out, "waiting for MariaDB at app@db:3306/shop");
  ASSERT_GE(records.size(), 5u) << out;
  EXPECT_EQ(records.size(), 5u) << out;  // at 2, 4, 6, 8 and 10 s
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    EXPECT_EQ(r["level"], "info");
    EXPECT_EQ(r["elapsed"], std::to_string(2 * (i + 1)) + "s") << r.dump();
    EXPECT_EQ(r["left"], std::to_string(12 - 2 * (i + 1)) + "s") << r.dump();
    EXPECT_EQ(r["last_error"], "connection refused (error 2002)");
    EXPECT_GE(r["attempt"].get<int>(), 1);
    if (i > 0) {
      EXPECT_GE(r["attempt"], records[i - 1]["attempt"]);
    }
  }
}

TEST_F(RetryTest, ASlowAttemptDelaysProgressButDoesNotBurst) {
  SetProgressInterval(Millis(1000));
  std::string out = CaptureStderr([&] {
    (void)Retry("slow", {.initial = Millis(100)}, Deadline::After(Millis(10000), clock_), [&](int) {
      clock_.Advance(Millis(4500));  // a connect that hangs
      return Status::NotReady("timed out");
    });
  });
  // Attempts end at 4.5 s and 9.1 s (+ backoff): one record after each,
  // not one per missed tick.
  EXPECT_EQ(Records(out, "slow").size(), 2u) << out;
}

TEST_F(RetryTest, NoProgressRecordForAQuickSuccess) {
  SetProgressInterval(Millis(1000));
  std::string out = CaptureStderr([&] {
    EXPECT_TRUE(Retry("quick", {}, Deadline::After(Millis(10000), clock_), [&](int n) {
                  return n < 3 ? Status::NotReady("not yet") : Status::Ok();
                }).ok());
  });
  EXPECT_TRUE(Records(out, "quick").empty()) << out;
}

TEST_F(RetryTest, DeadlineOnAHugeDurationIsNever) {
  auto d = Deadline::After(Millis::max(), clock_);
  EXPECT_TRUE(d.never());
  EXPECT_EQ(d.Remaining(), Millis::max());
  auto soon = Deadline::After(Millis(500), clock_);
  EXPECT_EQ(soon.Remaining(), Millis(500));
  clock_.Advance(Millis(600));
  EXPECT_TRUE(soon.Expired());
  EXPECT_EQ(soon.Remaining(), Millis(0));
}

TEST(RetryRealClock, AStopSignalEndsTheWait) {
  signals::RaiseForTest(SIGTERM);
  Status st = Retry("thing", {}, Deadline::After(Millis(60000)),
                    [&](int) { return Status::NotReady("down"); });
  signals::ResetForTest();
  EXPECT_EQ(st.kind(), Status::Kind::kInterrupted);
  EXPECT_EQ(st.ExitCode(), 128 + SIGTERM);
}

// --progress-interval is a flag of every tool and sets the loop's interval.
TEST(ProgressIntervalFlag, EveryToolHasItAndZeroIsRefused) {
  ToolSpec spec;
  spec.name = "initkit-test";
  Config config;
  std::string early;
  ASSERT_TRUE(ParseConfig(spec, {"t", "--progress-interval", "2s"}, {}, &config, &early).ok());
  EXPECT_EQ(config.GetDuration("progress-interval"), Millis(2000));
  ASSERT_TRUE(
      ParseConfig(spec, {"t"}, {{"INITKIT_PROGRESS_INTERVAL", "250ms"}}, &config, &early).ok());
  EXPECT_EQ(config.GetDuration("progress-interval"), Millis(250));
  ASSERT_TRUE(ParseConfig(spec, {"t"}, {}, &config, &early).ok());
  EXPECT_EQ(config.GetDuration("progress-interval"), Millis(5000));
  Status st = ParseConfig(spec, {"t", "--progress-interval", "0s"}, {}, &config, &early);
  EXPECT_EQ(st.ExitCode(), 2);
  EXPECT_NE(st.message().find("--progress-interval"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace initkit
