// A Clock whose time moves only when code sleeps on it or a test advances
// it: backoff, deadline and progress logic tested without waiting.
#pragma once

#include <mutex>

#include "common/retry.h"

namespace initkit::testing {

/// Starts at an arbitrary fixed point. SleepFor(d) advances the time by d
/// at once and never reports a stop signal. Thread-safe.
class FakeClock : public Clock {
 public:
  time_point Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  bool SleepFor(Millis d) const override {
    Advance(d);
    return true;
  }
  /// Moves the time forward (an attempt that blocks for `d`).
  void Advance(Millis d) const {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
    slept_ += d;
  }
  /// Everything SleepFor and Advance added so far.
  Millis Total() const {
    std::lock_guard<std::mutex> lock(mu_);
    return slept_;
  }

 private:
  mutable std::mutex mu_;
  mutable time_point now_ = time_point(std::chrono::hours(1000));
  mutable Millis slept_{0};
};

}  // namespace initkit::testing
