# coordinator/meta: real RocksDB in a temporary directory, no mocks.
if(TARGET cairn_meta)
  cairn_unit_test(test_meta_nodes cairn_meta cairn_common)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_meta_objects.c)
    cairn_unit_test(test_meta_objects cairn_meta cairn_common)
  endif()
endif()
