// The one exception type of the sync library, and what the caller should do about it: the
// files component's IoError (transient, permanent or cancelled), under the sync's own names.
#pragma once

#include "files/io_error.hpp"

namespace mh::sync {

using ErrorKind = files::ErrorKind;
using SyncError = files::IoError;
using files::cancelled_error;
using files::permanent_error;
using files::transient_error;

}  // namespace mh::sync
