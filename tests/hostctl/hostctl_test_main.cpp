// hostctl's unit tests: one binary, one ctest entry per doctest suite (CMakeLists.txt).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
