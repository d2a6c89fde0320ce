# Process isolation end to end (isolation_*_test.cpp): hostd with deliberately bad plugins
# (built in tests/isolation) beside the echo model; included from tests/e2e/CMakeLists.txt.
add_executable(hostd_isolation_e2e_test hostd_e2e_main.cpp isolation_faults_test.cpp)
target_link_libraries(hostd_isolation_e2e_test PRIVATE mh_e2e_support doctest::doctest
                                                       Boost::json mh_warnings)
target_compile_definitions(hostd_isolation_e2e_test PRIVATE
  MH_BAD_PLUGIN_DIR="$<TARGET_FILE_DIR:mh_bad_segfault_in_predict>")
add_dependencies(hostd_isolation_e2e_test mh-runner mh_bad_segfault_in_predict
                 mh_bad_abort_in_init mh_bad_exit_in_cleanup mh_bad_predict_never_finishes
                 mh_bad_init_loops_forever mh_bad_leaks_memory_per_request)
foreach(case
    segfault_in_predict_crashes_restarts_then_fails
    abort_in_init_is_reported_failed
    exit_in_cleanup_still_unloads
    predict_never_finishes_is_stuck_and_replaced
    none_predict_never_finishes_is_reported_and_frees_its_slot
    init_loops_forever_is_killed_at_the_load_timeout
    memory_leak_hits_the_limit_and_restarts
    drain_timeout_request_is_stuck_and_its_runner_killed
    none_drain_timeout_request_is_stuck_and_answered)
  add_test(NAME e2e.isolation_${case} COMMAND hostd_isolation_e2e_test
                                              --test-case=isolation_${case})
  set_tests_properties(e2e.isolation_${case} PROPERTIES TIMEOUT 180)
endforeach()
