// The agencies dubanctl's unit tests resolve and print: three provincial
// departments (one with an alias) and a group of two city governments.
#ifndef DUBAN_CLIENTS_DUBANCTL_TEST_AGENCIES_H_
#define DUBAN_CLIENTS_DUBANCTL_TEST_AGENCIES_H_

#include <google/protobuf/text_format.h>

#include "duban/v1/assignment.pb.h"

namespace duban::clients::test_fixtures {

inline duban::v1::ListAgenciesResponse TestAgencies() {
  duban::v1::ListAgenciesResponse response;
  if (!google::protobuf::TextFormat::ParseFromString(
      R"pb(
        agencies {
          id: "qh-drc"
          name: "青海省发展和改革委员会"
          short_name: "省发展改革委"
        }
        agencies {
          id: "qh-hrss"
          name: "青海省人力资源和社会保障厅"
          short_name: "省人力资源社会保障厅"
          aliases: "省人社厅"
        }
        agencies { id: "qh-edu" name: "青海省教育厅" short_name: "省教育厅" }
        agencies {
          id: "xining"
          name: "西宁市人民政府"
          short_name: "西宁市"
          group_ids: "cities"
        }
        agencies {
          id: "haidong"
          name: "海东市人民政府"
          short_name: "海东市"
          group_ids: "cities"
        }
        groups {
          id: "cities"
          name: "各市州政府"
          member_agency_ids: [ "xining", "haidong" ]
        }
      )pb",
      &response)) {
    response.Clear();
  }
  return response;
}

}  // namespace duban::clients::test_fixtures

#endif  // DUBAN_CLIENTS_DUBANCTL_TEST_AGENCIES_H_
