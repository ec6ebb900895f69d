// The one retry/deadline loop of every wait (database, lock, HTTP, Kubernetes
// API, Keycloak, gate, rollout): deadline, exponential backoff with jitter,
// progress records, interruptible by signals, testable with a fake Clock.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"

namespace initkit {

using Millis = std::chrono::milliseconds;

/// Monotonic time and sleeping, behind an interface so that backoff,
/// deadline and progress logic can be tested without waiting (a fake clock
/// advances its time in SleepFor).
class Clock {
 public:
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  /// The current time of this clock.
  virtual time_point Now() const = 0;
  /// Waits for `d`; returns false at once when a stop signal arrives
  /// (signals::StopRequested), true after the full wait.
  virtual bool SleepFor(Millis d) const = 0;

  /// The process's steady clock; sleeps with signals::SleepFor.
  static const Clock& Real();
  /// The real steady clock's time, for code that only measures how long
  /// something took (never for waits a test should control).
  static time_point now() { return std::chrono::steady_clock::now(); }
};

/// A point in time after which waiting stops, on a given clock.
class Deadline {
 public:
  /// `d` from now (saturating: a huge `d` is Never()).
  static Deadline After(Millis d, const Clock& clock = Clock::Real());
  static Deadline Never(const Clock& clock = Clock::Real());
  bool Expired() const { return clock_->Now() >= at_; }
  /// Time left, never negative; Millis::max() for Never().
  Millis Remaining() const;
  bool never() const { return at_ == Clock::time_point::max(); }
  Clock::time_point at() const { return at_; }
  /// The clock this deadline runs on (Retry sleeps on it too).
  const Clock& clock() const { return *clock_; }

 private:
  Deadline(Clock::time_point at, const Clock* clock) : at_(at), clock_(clock) {}
  Clock::time_point at_;
  const Clock* clock_;
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
  /// The next wait (with jitter, never 0), advancing the sequence.
  Millis Next();

 private:
  BackoffPolicy policy_;
  Millis next_;
};

/// How often every wait logs a progress record (the common
/// --progress-interval flag; InitTool sets it). Default 5 s; must be > 0.
void SetProgressInterval(Millis interval);
Millis ProgressInterval();

/// One attempt of a Retry loop: its number, and what it may tell the loop
/// besides its Status.
struct Attempt {
  int number = 1;  // from 1
  /// A wait the server asked for (HTTP Retry-After on 429/503): when set by
  /// an attempt that returns NotReady, the next wait is this instead of the
  /// backoff step, still never past the deadline. Reset before each attempt.
  std::optional<Millis> retry_after;
  /// Set by an attempt that returns NotReady when the caller's own budget ran
  /// out (e.g. cron-gate's --retries counts failed answers only): Retry gives
  /// up now, as when max_attempts is reached. Reset before each attempt.
  bool last = false;
};

/// Calls `attempt` until it returns ok or a status that is not NotReady, the
/// attempts run out, or the deadline passes. A NotReady status is the
/// transient kind: it is retried after a backoff wait that never reaches past
/// the deadline. Time and sleeping come from deadline.clock().
///
/// While it waits, an info record is logged every ProgressInterval(): the
/// message is `what`; fields `attempt`, `elapsed`, `left` (time to the
/// deadline, "unlimited" without one) and `last_error`. Records sit on a
/// fixed grid from the start; an attempt that blocks past a tick delays that
/// record to its end (one record, not a burst).
///
/// On running out it returns NotReady: "<what>: not ready before the
/// deadline: <last error>" (plus the last different error, if any); on a
/// stop signal, Interrupted.
Status Retry(const std::string& what, const BackoffPolicy& policy, const Deadline& deadline,
             const std::function<Status(Attempt& attempt)>& attempt);

/// The same, for attempts that only need their number (from 1).
Status Retry(const std::string& what, const BackoffPolicy& policy, const Deadline& deadline,
             const std::function<Status(int attempt)>& attempt);

}  // namespace initkit
