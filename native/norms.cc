#include "common.h"

namespace mod {

void InitNorms(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace mod
