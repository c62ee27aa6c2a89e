# Repair: index keys (cairn_meta), planning (coordinator/repair), the rate
# limiter (common) and the scrubber's name parsing (storagenode).
if(TARGET cairn_meta)
  add_executable(test_repair test_repair.c
                 ${PROJECT_SOURCE_DIR}/coordinator/repair/repair_plan.c
                 ${PROJECT_SOURCE_DIR}/coordinator/cluster/placement.c
                 ${PROJECT_SOURCE_DIR}/storagenode/scrubber.c
                 ${PROJECT_SOURCE_DIR}/storagenode/disks.c
                 ${PROJECT_SOURCE_DIR}/storagenode/chunk_store.c
                 ${PROJECT_SOURCE_DIR}/storagenode/segment_log.c)
  target_include_directories(test_repair PRIVATE
                             ${PROJECT_SOURCE_DIR}/coordinator/repair
                             ${PROJECT_SOURCE_DIR}/coordinator/cluster
                             ${PROJECT_SOURCE_DIR}/storagenode)
  target_link_libraries(test_repair PRIVATE PkgConfig::CMOCKA cairn_meta
                        cairn_common PkgConfig::ISAL Threads::Threads m)
  add_test(NAME test_repair COMMAND test_repair)
endif()
