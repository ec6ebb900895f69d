// Deadline and exponential backoff with jitter, interruptible by signals.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/status.h"

namespace initkit {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

/// A point in time after which waiting stops.
class Deadline {
 public:
  static Deadline After(Millis d) { return Deadline(Clock::now() + d); }
  static Deadline Never() { return Deadline(Clock::time_point::max()); }
  bool Expired() const { return Clock::now() >= at_; }
  /// Time left, never negative.
  Millis Remaining() const;
  Clock::time_point at() const { return at_; }

 private:
  explicit Deadline(Clock::time_point at) : at_(at) {}
  Clock::time_point at_;
};

/// Exponential backoff: initial, ×multiplier each step, capped at max,
/// ±jitter (fraction) so that many pods do not retry in lockstep.
struct BackoffPolicy {
  Millis initial{100};
  Millis max{5000};
  double multiplier = 2.0;
  double jitter = 0.2;
  int max_attempts = 0;  // 0 = until the deadline
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy p) : policy_(p), next_(p.initial) {}
  /// The next wait (with jitter), advancing the sequence.
  Millis Next();

 private:
  BackoffPolicy policy_;
  Millis next_;
};

/// Calls `attempt(n)` (n from 1) until it returns ok or a status that is not
/// NotReady, the attempts run out, or the deadline passes. A NotReady status
/// is the transient kind: it is retried after a backoff wait that never
/// reaches past the deadline. On running out it returns NotReady with
/// `what` and the last error; on a signal, Interrupted.
Status Retry(const std::string& what, const BackoffPolicy& policy, const Deadline& deadline,
             const std::function<Status(int attempt)>& attempt);

}  // namespace initkit
