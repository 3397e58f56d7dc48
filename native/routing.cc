#include "common.h"

namespace mod {

void InitRouting(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace mod
