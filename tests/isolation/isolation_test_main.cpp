// The isolation tests (tests/isolation/CMakeLists.txt): one binary, one ctest entry per file.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
