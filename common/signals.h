// Signal handling: SIGTERM/SIGINT stop waits at once and reach the child.
#pragma once

#include <sys/types.h>

#include <chrono>

namespace initkit::signals {

/// Blocks SIGTERM, SIGINT, SIGHUP and SIGQUIT in the calling thread (so in
/// every thread started later) and starts a thread that waits for them in
/// sigwait. A signal marks the run as stopping, wakes every SleepFor and is
/// forwarded to registered children. Call first in main, before any thread.
void Install();

/// True once a stop signal arrived.
bool StopRequested();
/// The first stop signal received, or 0.
int StopSignal();

/// Sleeps for `d`; returns false early (at once) if a stop signal arrives.
bool SleepFor(std::chrono::nanoseconds d);

/// A file descriptor that becomes readable when a stop signal arrives, for
/// poll loops. Valid after Install().
int StopFd();

/// Children that receive every signal we receive (like tini, but SIGCHLD).
void AddChild(pid_t pid);
void RemoveChild(pid_t pid);

/// Empty signal mask and default dispositions; call in a forked child or
/// before execve so CMD starts with a clean slate.
void ResetForExec();

/// Simulates an arriving signal (tests).
void RaiseForTest(int sig);
/// Clears the stop state (tests).
void ResetForTest();

}  // namespace initkit::signals
