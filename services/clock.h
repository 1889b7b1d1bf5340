// Where time comes from. The engine never reads a clock: the sequencer asks
// its Clock and passes the time in. Tests use ManualClock.
#ifndef DUBAN_SERVICES_CLOCK_H_
#define DUBAN_SERVICES_CLOCK_H_

#include <time.h>

#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace duban::services {

// Safe for concurrent use.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
};

class SystemClock final : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
};

// Time that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start) : now_(start) {}
  absl::Time Now() override;
  void Advance(absl::Duration d);
  void Set(absl::Time t);

 private:
  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

// CPU time (user + system, all threads) this process has used: what the
// benchmarks divide by the work done. Header-only, for the load tool too.
inline int64_t ProcessCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace duban::services

#endif  // DUBAN_SERVICES_CLOCK_H_
