# The hardening regression tests of issue 10 (raw sockets against the real hostd); included
# from tests/e2e/CMakeLists.txt after mh_e2e_support. MH_HARDENING_HOSTD=<path> runs them
# against another hostd binary (to see them fail on an older one).
find_package(doctest REQUIRED)
add_executable(hostd_hardening_test hostd_e2e_main.cpp hardening_raw_client.cpp
                                    hardening_http_test.cpp hardening_daemon_test.cpp)
target_link_libraries(hostd_hardening_test PRIVATE mh_e2e_support doctest::doctest Boost::json
                                                   mh_warnings)
foreach(case
    hardening_chunk_extension_flood_gets_400_and_close
    hardening_header_flood_gets_431_and_close
    hardening_stalled_stream_reader_is_bounded_and_cut
    hardening_client_that_reads_nothing_is_cut_after_the_write_timeout
    hardening_lingering_after_an_error_reply_reads_a_bounded_amount
    hardening_auth_and_route_are_checked_before_the_body
    hardening_large_bodies_are_capped_and_small_ones_still_served
    hardening_connections_are_capped_and_slow_heads_get_408
    hardening_transfer_encoding_other_than_chunked_is_refused
    hardening_malformed_chunked_body_400_and_slow_body_408
    hardening_http10_stream_is_close_delimited
    hardening_pipelining_client_that_vanishes_is_cancelled
    hardening_admin_socket_replaces_only_a_stale_socket
    hardening_default_admin_socket_dir_must_be_ours_and_private
    hardening_accept_backs_off_when_descriptors_run_out)
  add_test(NAME e2e.${case} COMMAND hostd_hardening_test --test-case=${case})
  set_tests_properties(e2e.${case} PROPERTIES TIMEOUT 120)
endforeach()
