// WorkPool: a fixed set of threads draining a LIFO stack of tasks.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

#include "common/status.h"

namespace initkit::bootstrap {

/// Runs tasks that may add more tasks, on `threads` threads, until all are
/// done or one fails. LIFO order makes a tree walk depth-first, which bounds
/// the number of directories (and fds) in flight.
class WorkPool {
 public:
  using Task = std::function<Status()>;
  explicit WorkPool(int threads) : threads_(threads < 1 ? 1 : threads) {}

  /// Queues a task. Thread-safe; tasks call it to add their children.
  void Add(Task task);
  /// Runs until every task (including added ones) finished, or the first
  /// failure; then no new task starts. Returns Ok or the first failure.
  Status Run();
  /// True once a task failed; long tasks check it to stop early.
  bool failed() const;

 private:
  void Worker();
  const int threads_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Task> stack_;
  size_t pending_ = 0;  // queued + running
  bool failed_ = false;
  Status first_error_;
};

}  // namespace initkit::bootstrap
