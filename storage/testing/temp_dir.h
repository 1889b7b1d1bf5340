// A fresh folder for a test, removed with everything in it when the object
// goes away. Header-only; for tests in any folder.
//
//   duban::storage::testing::TempDir dir;
//   auto log = EventLog::Open({.path = dir.path() + "/log"});
#ifndef DUBAN_STORAGE_TESTING_TEMP_DIR_H_
#define DUBAN_STORAGE_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace duban::storage::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "duban-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp(" << tmpl << "): " << std::strerror(errno);
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace duban::storage::testing

#endif  // DUBAN_STORAGE_TESTING_TEMP_DIR_H_
