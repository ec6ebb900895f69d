#include "common/retry.h"

#include <algorithm>
#include <atomic>
#include <random>

#include "common/config.h"
#include "common/log.h"
#include "common/signals.h"

namespace initkit {
namespace {

class SteadyClock : public Clock {
 public:
  time_point Now() const override { return std::chrono::steady_clock::now(); }
  bool SleepFor(Millis d) const override { return signals::SleepFor(d); }
};

std::atomic<int64_t> progress_interval_ms{5000};

Millis Elapsed(const Clock& clock, Clock::time_point since) {
  return std::chrono::duration_cast<Millis>(clock.Now() - since);
}

// Progress figures to a tenth of a second ("10s", not "9.996s"); what a
// person reads in `kubectl logs` needs no milliseconds.
std::string Rounded(Millis d) {
  if (d < Millis(1000)) return FormatDuration(d);
  return FormatDuration(std::chrono::round<std::chrono::duration<int64_t, std::deci>>(d));
}

}  // namespace

const Clock& Clock::Real() {
  static const SteadyClock clock;
  return clock;
}

Deadline Deadline::After(Millis d, const Clock& clock) {
  Clock::time_point now = clock.Now();
  if (d >= std::chrono::duration_cast<Millis>(Clock::time_point::max() - now)) {
    return Never(clock);
  }
  return Deadline(now + std::max(d, Millis(0)), &clock);
}

Deadline Deadline::Never(const Clock& clock) { return Deadline(Clock::time_point::max(), &clock); }

Millis Deadline::Remaining() const {
  if (never()) return Millis::max();
  auto now = clock_->Now();
  if (now >= at_) return Millis(0);
  return std::chrono::duration_cast<Millis>(at_ - now);
}

Millis Backoff::Next() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  Millis base = next_;
  next_ = std::min(policy_.max, Millis(static_cast<int64_t>(static_cast<double>(next_.count()) *
                                                            policy_.multiplier)));
  if (policy_.jitter <= 0) return std::max(Millis(1), base);
  std::uniform_real_distribution<double> dist(1.0 - policy_.jitter, 1.0 + policy_.jitter);
  // Never 0: a zero wait would spin, and jitter on 1 ms rounds down.
  return std::max(Millis(1),
                  Millis(static_cast<int64_t>(static_cast<double>(base.count()) * dist(rng))));
}

void SetProgressInterval(Millis interval) {
  progress_interval_ms.store(std::max<int64_t>(1, interval.count()));
}

Millis ProgressInterval() { return Millis(progress_interval_ms.load()); }

Status Retry(const std::string& what, const BackoffPolicy& policy, const Deadline& deadline,
             const std::function<Status(Attempt& attempt)>& attempt) {
  // An attempt with almost no time left can only time out, and its "timed
  // out after 1ms" would hide the real cause (a refused certificate, a
  // refused connection): it is not made, and the last different error is
  // reported too.
  constexpr Millis kMinAttempt{20};
  const Clock& clock = deadline.clock();
  const Clock::time_point start = clock.Now();
  const Millis interval = ProgressInterval();
  // Progress ticks sit on a fixed grid from the start (interval, 2×interval,
  // ...), so a slow attempt delays a record but never shifts the later ones.
  Clock::time_point next_progress = start + interval;
  Backoff backoff(policy);
  Status last, earlier;
  int n = 0;
  auto give_up = [&](const std::string& why) {
    std::string msg = what + ": " + why + ": " + last.message();
    if (!earlier.ok()) msg += " (before that: " + earlier.message() + ")";
    return Status::NotReady(msg);
  };
  auto progress = [&] {
    Clock::time_point now = clock.Now();
    if (now < next_progress) return;
    log::Info(what, {{"attempt", n},
                     {"elapsed", Rounded(Elapsed(clock, start))},
                     {"left",
                      deadline.never() ? std::string("unlimited") : Rounded(deadline.Remaining())},
                     {"last_error", last.message()}});
    while (next_progress <= now) next_progress += interval;
  };
  // Sleeps `wait`, waking on the progress grid to log; false on a stop signal.
  // A tick that falls on the end of the wait is left to the next attempt.
  auto sleep = [&](Millis wait) {
    const Clock::time_point until = clock.Now() + wait;
    for (Clock::time_point now = clock.Now(); now < until; now = clock.Now()) {
      if (now >= next_progress) progress();
      Clock::time_point wake = std::min(until, next_progress);
      if (!clock.SleepFor(std::chrono::ceil<Millis>(wake - now))) return false;
    }
    return true;
  };
  while (true) {
    if (signals::StopRequested()) return Status::Interrupted(signals::StopSignal());
    Attempt a;
    a.number = ++n;
    Status st = attempt(a);
    if (st.ok() || st.kind() != Status::Kind::kNotReady) return st;
    if (!last.ok() && last.message() != st.message()) earlier = last;
    last = st;
    if (a.last || (policy.max_attempts > 0 && n >= policy.max_attempts)) {
      return give_up("gave up after " + std::to_string(n) + " attempts");
    }
    if (deadline.Expired()) return give_up("not ready before the deadline");
    progress();  // only while waiting on: the caller logs the give-up
    Millis step = a.retry_after ? std::max(Millis(1), *a.retry_after) : backoff.Next();
    if (!sleep(std::min(step, deadline.Remaining()))) {
      return Status::Interrupted(signals::StopSignal());
    }
    if (deadline.Remaining() < kMinAttempt) return give_up("not ready before the deadline");
  }
}

Status Retry(const std::string& what, const BackoffPolicy& policy, const Deadline& deadline,
             const std::function<Status(int attempt)>& attempt) {
  return Retry(what, policy, deadline, [&](Attempt& a) { return attempt(a.number); });
}

}  // namespace initkit
