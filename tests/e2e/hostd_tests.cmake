# hostd's end-to-end tests; included from tests/e2e/CMakeLists.txt after mh_e2e_support.
find_package(doctest REQUIRED)
add_executable(hostd_e2e_test hostd_e2e_main.cpp hostd_serving_test.cpp hostd_reload_test.cpp
                              hostd_shutdown_test.cpp hostd_files_test.cpp hostd_routes_test.cpp)
target_link_libraries(hostd_e2e_test PRIVATE mh_e2e_support doctest::doctest Boost::json
                                             mh_warnings)
foreach(case
    empty_dir_then_echo_reload
    http_errors_keep_hostd_up
    streaming_sse_and_openai_routes
    timeout_504_and_the_plugin_is_told
    client_disconnect_cancels_in_the_plugin
    admission_429_past_max_concurrency_and_queue
    probes_and_metrics
    flags_help_and_clear_errors
    admin_tcp_listener_needs_the_token
    replace_so_in_place_under_load_no_request_fails
    removed_model_gives_404_others_unaffected
    broken_models_show_errors_while_others_serve
    init_that_never_finishes_is_bounded_by_the_load_timeout
    admin_unload_then_reload
    sigterm_lets_streams_finish_and_cleans_up_every_model
    model_files_synced_before_init_and_on_reload
    api_key_guards_the_public_v1_routes
    drain_timeout_stops_a_long_request_of_a_replaced_generation
    retrieve_model_in_openai_shape
    wrong_method_405_with_allow_and_404_on_every_listener
    print_routes_lists_both_tables)
  add_test(NAME e2e.${case} COMMAND hostd_e2e_test --test-case=${case})
  set_tests_properties(e2e.${case} PROPERTIES TIMEOUT 120)
  # Again with every plugin inside hostd (the default runs each in a runner process).
  add_test(NAME e2e.inprocess.${case} COMMAND hostd_e2e_test --test-case=${case})
  set_tests_properties(e2e.inprocess.${case} PROPERTIES TIMEOUT 120
                                             ENVIRONMENT MODELHOST_DEFAULT_ISOLATION=none)
endforeach()

# README.md's "### Routes" tables must be what hostd --print-routes prints (the tables hostd
# dispatches with), so the route list in the README cannot drift from the code.
add_test(NAME docs.readme_routes
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_readme_routes.sh $<TARGET_FILE:hostd>
                 ${PROJECT_SOURCE_DIR}/README.md)
