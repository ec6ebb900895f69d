#include "tests/fakes/fault_hooks.h"

namespace initkit::testing {

FaultHooks::~FaultHooks() { ReleaseHeld(Release::kDrop); }

void FaultHooks::SetIntercept(Intercept f) {
  std::lock_guard<std::mutex> l(mu_);
  intercept_ = std::move(f);
}

void FaultHooks::Hold(Match m) {
  std::lock_guard<std::mutex> l(mu_);
  hold_ = std::move(m);
}

bool FaultHooks::WaitHeld(int n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, timeout, [&] { return held_total_ >= n; });
}

void FaultHooks::ReleaseHeld(Release how, Match next) {
  std::lock_guard<std::mutex> l(mu_);
  hold_ = std::move(next);
  last_release_ = how;
  ++generation_;
  cv_.notify_all();
}

bool FaultHooks::WaitReleasedDone(int n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, timeout, [&] { return released_done_ >= n; });
}

int FaultHooks::held() const {
  std::lock_guard<std::mutex> l(mu_);
  return held_total_;
}

FaultHooks::Scope::~Scope() {
  if (!held_) return;
  std::lock_guard<std::mutex> l(hooks_->mu_);
  ++hooks_->released_done_;
  hooks_->cv_.notify_all();
}

FaultHooks::Scope FaultHooks::Enter(const FakeRequest& req) {
  std::unique_lock<std::mutex> l(mu_);
  bool held = false;
  if (hold_ && hold_(req)) {
    held = true;
    ++held_total_;
    cv_.notify_all();
    long gen = generation_;
    cv_.wait(l, [&] { return generation_ != gen; });
    if (last_release_ == Release::kDrop) {
      FakeResponse drop;
      drop.drop = true;
      return Scope(this, true, drop);
    }
  }
  Intercept intercept = intercept_;
  l.unlock();
  return Scope(this, held, intercept ? intercept(req) : std::nullopt);
}

}  // namespace initkit::testing
