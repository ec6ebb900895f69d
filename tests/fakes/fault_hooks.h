// Fault injection shared by the fakes: answer a request differently, or
// hold it in flight until the test lets it go.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>

#include "tests/fakes/http_server.h"

namespace initkit::testing {

/// FaultHooks is owned by a fake, which calls Enter() first in its handler.
/// Hooks run on the server's connection threads, outside the fake's lock, so
/// they may call the fake (e.g. change a stored object as another writer).
class FaultHooks {
 public:
  using Match = std::function<bool(const FakeRequest&)>;
  /// A set response replaces the fake's own answer; nullopt lets it answer.
  using Intercept = std::function<std::optional<FakeResponse>(const FakeRequest&)>;
  enum class Release {
    kAnswer,  // handled normally, as if it had only been slow
    kDrop,    // the connection is closed without an answer; nothing is applied
  };

  FaultHooks() = default;
  ~FaultHooks();
  FaultHooks(const FaultHooks&) = delete;
  FaultHooks& operator=(const FaultHooks&) = delete;

  void SetIntercept(Intercept f);
  /// Requests matching `m` wait inside the server until ReleaseHeld.
  void Hold(Match m);
  /// Waits until `n` requests have been held so far (counting released ones).
  bool WaitHeld(int n, std::chrono::milliseconds timeout);
  /// Lets every held request go; from then on holds those matching `next`
  /// (none by default). Swapping in one step makes two-phase barriers exact.
  void ReleaseHeld(Release how, Match next = nullptr);
  /// Waits until `n` released requests have been completely handled (a
  /// released kAnswer PUT is then applied).
  bool WaitReleasedDone(int n, std::chrono::milliseconds timeout);
  int held() const;

  /// What Enter decided; when it goes out of scope a released request counts as done.
  class Scope {
   public:
    Scope(FaultHooks* hooks, bool held, std::optional<FakeResponse> response)
        : response(std::move(response)), hooks_(hooks), held_(held) {}
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    std::optional<FakeResponse> response;

   private:
    FaultHooks* hooks_;
    bool held_;
  };
  /// For the fake: holds the request if it matches, then runs the intercept.
  Scope Enter(const FakeRequest& req);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Intercept intercept_;
  Match hold_;
  Release last_release_ = Release::kAnswer;
  long generation_ = 0;  // bumped by each ReleaseHeld
  int held_total_ = 0, released_done_ = 0;
};

}  // namespace initkit::testing
