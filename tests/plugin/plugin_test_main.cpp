// The host plugin loader's tests: one binary, one ctest entry (tests/plugin/CMakeLists.txt).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
