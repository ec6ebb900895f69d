// Fault matrix (issue #9): initkit-cron-gate against an endpoint that
// streams a body without end, at the binary level (the HTTP client's cap is
// tested in http_tests; this proves the gate turns it into a bounded 124).
#include <gtest/gtest.h>

#include "tests/fakes/http_server.h"
#include "tests/fakes/test_util.h"

namespace initkit::testing {
namespace {

TEST(CronGateFaults, EndlessBodyIsCutAtTheCapAndEndsIn124) {
  HttpServer server([](const FakeRequest&) {
    FakeResponse r;
    r.headers = {{"Content-Type", "application/json"}};
    r.endless_body = true;
    return r;
  });
  RunOutput r =
      RunBinary("initkit-cron-gate", {"--url", server.base_url() + "/ready", "--expected-version",
                                      "1.0", "--retries", "2", "--interval", "10ms", "--timeout",
                                      "30s", "--deadline", "60s", "--log-format", "json"});
  EXPECT_EQ(r.exit_code, 124) << r.err.substr(0, 2000);
  EXPECT_NE(r.err.find("exceeds"), std::string::npos) << r.err.substr(0, 2000);
  EXPECT_EQ(server.request_count(), 3);  // each attempt cut at the cap, not at a timeout
}

}  // namespace
}  // namespace initkit::testing
