// shim_internal.h: what the shim's C++ files share beside shim.h. C++ only,
// and not part of the interface Go sees.
#ifndef FKD_SHIM_INTERNAL_H
#define FKD_SHIM_INTERNAL_H

#include "shim.h"

namespace fkd_shim {

// error returns a new fkd_error for op (shim.h): msg without
// the C++ backtrace LibTorch appends ("Exception raised from ..."). The caller hands it to Go, which frees it.
fkd_err error(const char *op, const char *msg);

} // namespace fkd_shim

#endif // FKD_SHIM_INTERNAL_H
