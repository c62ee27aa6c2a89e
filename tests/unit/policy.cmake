# coordinator/policy: pure evaluation tables, no server.
if(TARGET cairn_policy)
  cairn_unit_test(test_policy cairn_policy cairn_common)
endif()
