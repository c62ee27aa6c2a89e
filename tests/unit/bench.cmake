# tools/cairn-bench: option parsing, request signing (checked against AWS's
# published example and against coordinator/auth's verifier), latency
# percentiles, error counts and response fields (no server); `disk` on a
# scratch directory.
if(TARGET cairn_bench)
  cairn_unit_test(test_bench_options cairn_bench cairn_common)
  cairn_unit_test(test_bench_sign cairn_bench cairn_auth cairn_common)
  cairn_unit_test(test_bench_stats cairn_bench cairn_common)
  cairn_unit_test(test_bench_disk cairn_bench cairn_common)
endif()
