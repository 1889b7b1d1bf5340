// log_bench: the event log against this machine's own limits.
//
//   Append/events_per_sync:1    one event per synced WriteBatch: the rate of
//                               "one fsync per event" (events/s)
//   Append/events_per_sync:64   64 commands of one event each in one synced
//                               batch, as the sequencer's group commit writes them
//   RawScan/events:N            a raw rocksdb::DB iterator over the default column
//                               family of a stored log of N events, parsing nothing
//   EventLogRead/events:N       EventLog::Read over the same log (parses each Event)
//
// N is 100 000 unless DUBAN_BENCH_EVENTS says otherwise (e.g. 1000000). The
// logs live in a temporary folder (under $TMPDIR, else /tmp), removed at exit.
// With DUBAN_BENCH_LOG_DIR=<duband data dir>/log, RawScanExisting and
// EventLogReadExisting scan that log instead (a stopped server's: the
// replay figures scripts/bench compares ReadEvents with).
//
//   log_bench --benchmark_filter=Append --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "absl/strings/str_cat.h"
#include "duban/v1/event.pb.h"
#include "storage/event_log.h"

namespace {

using duban::storage::EventLog;

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "log_bench: " << what << "\n";
  std::exit(1);
}

std::string TempRoot() {
  static const std::string root = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/duban-log-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp " + tmpl);
    return tmpl;
  }();
  return root;
}

// A progress report as an agency's system sends it, the commonest event.
EventLog::CommandWrite ReportCommand(uint64_t i) {
  EventLog::CommandWrite w;
  duban::v1::Event& e = w.events.emplace_back();
  e.set_plan_id("qinghai-employment-2021");
  e.set_principal("agency:qh-hrss");
  e.set_request_id(absl::StrCat("bench-", i));
  e.set_recorded_at_micros(1700000000000000 + static_cast<int64_t>(i));
  duban::v1::ProgressReport* r = e.mutable_progress_reported()->mutable_report();
  r->set_task_number(static_cast<int32_t>(1 + i % 44));
  r->set_year(static_cast<int32_t>(2021 + i % 5));
  r->set_agency_id("qh-hrss");
  r->set_role(duban::v1::LEAD);
  r->set_kind(duban::v1::TASK_REPORT);
  r->set_status(duban::v1::ON_TRACK);
  r->set_summary(absl::StrCat("duban-load 压测报告 #", i, "：按计划推进"));
  r->set_revision(static_cast<uint32_t>(1 + i / 220));
  duban::v1::RequestRecord rec;
  rec.set_method("SubmitProgress");
  rec.set_fingerprint(std::string(32, 'f'));
  rec.set_response(r->SerializeAsString());
  w.request = std::move(rec);
  w.principal = "agency:qh-hrss";
  w.request_id = e.request_id();
  return w;
}

std::unique_ptr<EventLog> OpenLog(const std::string& path, bool sync) {
  auto log = EventLog::Open({.path = path, .create_if_missing = true, .sync = sync});
  if (!log.ok()) Die(log.status().ToString());
  return std::move(*log);
}

// Appends `per_sync` one-event commands per synced batch, each iteration.
void BM_Append(benchmark::State& state) {
  const int per_sync = static_cast<int>(state.range(0));
  const std::string path = absl::StrCat(TempRoot(), "/append-", per_sync);
  std::filesystem::remove_all(path);
  std::unique_ptr<EventLog> log = OpenLog(path, /*sync=*/true);
  uint64_t i = 0;
  for (auto _ : state) {
    std::vector<EventLog::CommandWrite> writes;
    writes.reserve(per_sync);
    for (int k = 0; k < per_sync; ++k) writes.push_back(ReportCommand(i++));
    absl::Status s = log->Append(&writes);
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * per_sync);
  state.counters["fsyncs_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  log.reset();
  std::filesystem::remove_all(path);
}

// A stored log of `events` events (written without fsync: only its contents
// matter here), made once per size.
std::string StoredLog(int64_t events) {
  static std::map<int64_t, std::string> made;
  auto it = made.find(events);
  if (it != made.end()) return it->second;
  const std::string path = absl::StrCat(TempRoot(), "/stored-", events);
  std::filesystem::remove_all(path);
  {
    std::unique_ptr<EventLog> log = OpenLog(path, /*sync=*/false);
    uint64_t i = 0;
    while (static_cast<int64_t>(i) < events) {
      std::vector<EventLog::CommandWrite> writes;
      for (int k = 0; k < 1000 && static_cast<int64_t>(i) < events; ++k) {
        writes.push_back(ReportCommand(i++));
      }
      absl::Status s = log->Append(&writes);
      if (!s.ok()) Die(s.ToString());
    }
  }  // closed: flushed as it would be after a server stops
  made[events] = path;
  return path;
}

// The raw scan: RocksDB opened read-only with all its column families, one
// iterator over the events (default) family, keys and values touched, nothing
// parsed. Same read options as EventLog::Read (no block cache fill).
void RawScan(benchmark::State& state, const std::string& path) {
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names);
  if (!s.ok()) return state.SkipWithError(s.ToString().c_str());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, families, &handles, &raw);
  if (!s.ok()) return state.SkipWithError(s.ToString().c_str());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* events_cf = nullptr;
  for (auto* h : handles) {
    if (h->GetName() == rocksdb::kDefaultColumnFamilyName) events_cf = h;
  }
  int64_t events = 0;
  uint64_t bytes = 0;
  for (auto _ : state) {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, events_cf));
    int64_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      bytes += it->key().size() + it->value().size();
      ++n;
    }
    if (!it->status().ok()) return state.SkipWithError(it->status().ToString().c_str());
    events = n;
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * events);
  state.counters["events"] = static_cast<double>(events);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
}

void EventLogRead(benchmark::State& state, const std::string& path) {
  std::unique_ptr<EventLog> log = OpenLog(path, /*sync=*/true);
  int64_t events = 0;
  for (auto _ : state) {
    int64_t n = 0;
    uint64_t bytes = 0;
    absl::Status s = log->Read(1, 0, [&](const duban::v1::Event& e) {
      bytes += e.request_id().size();
      ++n;
      return true;
    });
    if (!s.ok()) return state.SkipWithError(std::string(s.message()).c_str());
    benchmark::DoNotOptimize(bytes);
    events = n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * events);
  state.counters["events"] = static_cast<double>(events);
}

int64_t EventsFromEnv() {
  const char* v = std::getenv("DUBAN_BENCH_EVENTS");
  if (v == nullptr || *v == '\0') return 100000;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  if (*end != '\0' || n <= 0) Die(absl::StrCat("DUBAN_BENCH_EVENTS: not a positive count: ", v));
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  benchmark::RegisterBenchmark("Append", BM_Append)
      ->ArgName("events_per_sync")
      ->Arg(1)
      ->Arg(64)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  const int64_t n = EventsFromEnv();
  benchmark::RegisterBenchmark("RawScan", [](benchmark::State& s) { RawScan(s, StoredLog(s.range(0))); })
      ->ArgName("events")
      ->Arg(n)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("EventLogRead",
                               [](benchmark::State& s) { EventLogRead(s, StoredLog(s.range(0))); })
      ->ArgName("events")
      ->Arg(n)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  if (const char* dir = std::getenv("DUBAN_BENCH_LOG_DIR"); dir != nullptr && *dir != '\0') {
    const std::string path = dir;
    benchmark::RegisterBenchmark("RawScanExisting", [path](benchmark::State& s) { RawScan(s, path); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("EventLogReadExisting",
                                 [path](benchmark::State& s) { EventLogRead(s, path); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  std::filesystem::remove_all(TempRoot(), ec);
  return 0;
}
