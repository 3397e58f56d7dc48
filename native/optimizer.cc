#include "common.h"

namespace mod {

void InitOptimizer(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace mod
