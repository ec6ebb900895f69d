#include "common/retry.h"

#include <algorithm>
#include <random>

#include "common/config.h"
#include "common/signals.h"

namespace initkit {

Millis Deadline::Remaining() const {
  auto now = Clock::now();
  if (now >= at_) return Millis(0);
  if (at_ == Clock::time_point::max()) return Millis::max();
  return std::chrono::duration_cast<Millis>(at_ - now);
}

Millis Backoff::Next() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  Millis base = next_;
  next_ = std::min(policy_.max, Millis(static_cast<int64_t>(static_cast<double>(next_.count()) *
                                                            policy_.multiplier)));
  if (policy_.jitter <= 0) return base;
  std::uniform_real_distribution<double> dist(1.0 - policy_.jitter, 1.0 + policy_.jitter);
  // Never 0: a zero wait would spin, and jitter on 1 ms rounds down.
  return std::max(Millis(1),
                  Millis(static_cast<int64_t>(static_cast<double>(base.count()) * dist(rng))));
}

Status Retry(const std::string& what, const BackoffPolicy& policy, const Deadline& deadline,
             const std::function<Status(int attempt)>& attempt) {
  // An attempt with almost no time left can only time out, and its "timed
  // out after 1ms" would hide the real cause (a refused certificate, a
  // refused connection): it is not made, and the last different error is
  // reported too.
  constexpr Millis kMinAttempt{20};
  Backoff backoff(policy);
  Status last, earlier;
  auto give_up = [&](const std::string& why) {
    std::string msg = what + ": " + why + ": " + last.message();
    if (!earlier.ok()) msg += " (before that: " + earlier.message() + ")";
    return Status::NotReady(msg);
  };
  for (int n = 1;; ++n) {
    if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
    Status st = attempt(n);
    if (st.ok() || st.kind() != Status::Kind::kNotReady) return st;
    if (!last.ok() && last.message() != st.message()) earlier = last;
    last = st;
    if (policy.max_attempts > 0 && n >= policy.max_attempts) {
      return give_up("gave up after " + std::to_string(n) + " attempts");
    }
    if (deadline.Expired()) return give_up("not ready before the deadline");
    Millis wait = std::min(backoff.Next(), deadline.Remaining());
    if (!signals::SleepFor(wait)) return Status::Interrupted(signals::StopSignal());
    if (deadline.Remaining() < kMinAttempt) return give_up("not ready before the deadline");
  }
}

}  // namespace initkit
