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
  Backoff backoff(policy);
  Status last;
  for (int n = 1;; ++n) {
    if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
    last = attempt(n);
    if (last.ok() || last.kind() != Status::Kind::kNotReady) return last;
    if (policy.max_attempts > 0 && n >= policy.max_attempts) {
      return Status::NotReady(what + ": gave up after " + std::to_string(n) +
                              " attempts: " + last.message());
    }
    if (deadline.Expired()) {
      return Status::NotReady(what + ": not ready before the deadline: " + last.message());
    }
    Millis wait = std::min(backoff.Next(), deadline.Remaining());
    if (!signals::SleepFor(wait)) return Status::Interrupted(signals::StopSignal());
  }
}

}  // namespace initkit
