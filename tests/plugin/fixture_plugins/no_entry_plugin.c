/* A shared library that is not a modelhost plugin: it exports something, but not the entry. */
#include <modelhost/plugin.h>

MH_EXPORT int some_other_library_function(int x) {
  return x + 1;
}
