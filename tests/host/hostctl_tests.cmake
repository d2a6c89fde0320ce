# hostctl's unit tests (tools/hostctl): formatting, the init template, endpoint resolution, and
# the HTTP client against a fake hostd. Included from tests/host/CMakeLists.txt.
add_executable(hostctl_unit_test
  ${CMAKE_CURRENT_LIST_DIR}/hostctl_test_main.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hostctl_human_units_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hostctl_status_table_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hostctl_progress_bar_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hostctl_sse_parser_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hostctl_init_template_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hostctl_admin_endpoint_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hostctl_admin_client_test.cpp)
target_link_libraries(hostctl_unit_test PRIVATE mh_hostctl_core doctest::doctest mh_warnings)
foreach(suite format init endpoint client)
  add_test(NAME host.hostctl.${suite} COMMAND hostctl_unit_test --test-suite=${suite})
  set_tests_properties(host.hostctl.${suite} PROPERTIES TIMEOUT 120)
endforeach()
