#include "tools/bootstrap/work_pool.h"

#include <thread>

namespace initkit::bootstrap {

void WorkPool::Add(Task task) {
  std::lock_guard<std::mutex> lock(mu_);
  stack_.push_back(std::move(task));
  ++pending_;
  cv_.notify_one();
}

bool WorkPool::failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

void WorkPool::Worker() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return failed_ || pending_ == 0 || !stack_.empty(); });
      if (failed_ || stack_.empty()) return;
      task = std::move(stack_.back());
      stack_.pop_back();
    }
    Status st = task();
    task = nullptr;  // release what the task captured (fds) before counting it done
    std::lock_guard<std::mutex> lock(mu_);
    if (!st.ok() && !failed_) {
      failed_ = true;
      first_error_ = st;
    }
    if (--pending_ == 0 || failed_) cv_.notify_all();
  }
}

Status WorkPool::Run() {
  std::vector<std::thread> threads;
  for (int i = 1; i < threads_; ++i) threads.emplace_back([this] { Worker(); });
  Worker();
  for (std::thread& t : threads) t.join();
  std::lock_guard<std::mutex> lock(mu_);
  stack_.clear();
  return first_error_;
}

}  // namespace initkit::bootstrap
