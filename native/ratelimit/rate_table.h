// See rate_table.cc: token buckets per client, shared by every server process.
#pragma once

#include <napi.h>

namespace tokio {

struct RateGroup;

class RateTable : public Napi::ObjectWrap<RateTable> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit RateTable(const Napi::CallbackInfo& info);
  ~RateTable() override;

 private:
  static Napi::Value Create(const Napi::CallbackInfo& info);
  Napi::Value Take(const Napi::CallbackInfo& info);

  RateGroup* groups_ = nullptr;
};

}  // namespace tokio
