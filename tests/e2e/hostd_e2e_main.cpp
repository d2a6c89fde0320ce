// hostd's end-to-end tests: each case starts the real hostd and talks to it over HTTP
// (support/). ctest runs one case per test, named e2e.<case>.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
