#include "common.h"

namespace mod {

void InitGemm(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace mod
