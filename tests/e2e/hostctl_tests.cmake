# hostctl's end-to-end tests: the real hostctl binary against a real hostd (support/), plus an
# `hostctl init` project built against the SDK installed into a temp prefix. Included from
# tests/e2e/CMakeLists.txt, after mh_e2e_support is defined.
if(NOT TARGET hostctl)
  return()
endif()
add_executable(hostctl_e2e_test hostctl_e2e_test.cpp hostctl_command.cpp)
target_link_libraries(hostctl_e2e_test PRIVATE mh_e2e_support doctest::doctest Boost::json
                                               mh_warnings)
target_compile_definitions(hostctl_e2e_test PRIVATE
  MH_HOSTCTL_BINARY="$<TARGET_FILE:hostctl>"
  MH_CMAKE_COMMAND="${CMAKE_COMMAND}"
  MH_BUILD_DIR="${CMAKE_BINARY_DIR}"
  MH_CXX_COMPILER="${CMAKE_CXX_COMPILER}")
add_dependencies(hostctl_e2e_test hostctl)

foreach(case init_build_reload_predict status_echo_ready status_json not_running init_refuses
             usage predict unload reload_failure sync_progress)
  add_test(NAME e2e.hostctl.${case} COMMAND hostctl_e2e_test --test-case=${case})
  set_tests_properties(e2e.hostctl.${case} PROPERTIES TIMEOUT 300)
endforeach()
