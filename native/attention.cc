#include "common.h"

namespace mod {

void InitAttention(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace mod
