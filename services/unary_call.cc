#include "services/unary_call.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/validate.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/unknown_field_set.h"

namespace duban::services {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

// The path of the first string field holding invalid UTF-8, if any. The
// bytes are read as an UnknownFieldSet, which does not check UTF-8.
std::optional<std::string> FindBadUtf8(const std::string& bytes, const Descriptor* type,
                                       const std::string& prefix, int depth) {
  UnknownFieldSet fields;
  if (depth > 32 || !fields.ParseFromString(bytes)) return std::nullopt;
  std::map<int, int> seen;  // field number -> index among repeated values
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& f = fields.field(i);
    const FieldDescriptor* fd = type->FindFieldByNumber(f.number());
    if (fd == nullptr || f.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const int index = seen[f.number()]++;
    const std::string path = absl::StrCat(prefix, prefix.empty() ? "" : ".", fd->name(),
                                          fd->is_repeated() ? absl::StrCat("[", index, "]") : "");
    if (fd->type() == FieldDescriptor::TYPE_STRING &&
        !engine::IsValidUtf8(f.length_delimited())) {
      return path;
    }
    if (fd->type() == FieldDescriptor::TYPE_MESSAGE) {
      auto nested = FindBadUtf8(f.length_delimited(), fd->message_type(), path, depth + 1);
      if (nested) return nested;
    }
  }
  return std::nullopt;
}

}  // namespace

absl::Status DescribeParseFailure(const std::string& bytes,
                                  const google::protobuf::Message& prototype) {
  const Descriptor* type = prototype.GetDescriptor();
  if (auto path = FindBadUtf8(bytes, type, "", 0)) {
    return absl::InvalidArgumentError(absl::StrCat(*path, ": not valid UTF-8"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("request: not a valid ", type->full_name(), " message"));
}

absl::Status ParseRequest(const grpc::ByteBuffer& in, google::protobuf::Message* out) {
  std::vector<grpc::Slice> slices;
  if (!in.Dump(&slices).ok()) {
    return absl::InternalError("request: could not read the request bytes");
  }
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  if (!out->ParseFromString(bytes)) {
    return DescribeParseFailure(bytes, *out);  // only its type is used
  }
  return absl::OkStatus();
}

}  // namespace duban::services
