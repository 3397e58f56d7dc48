#include "common.h"

namespace mod {

void InitElementwise(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace mod
