# Data plane: frames (common/frame.c), fragment files and the node's I/O
# threads (storagenode/chunk_store.c, data_io.c), and the node's data port
# driven by the coordinator's node links over loopback, in one process.
if(TARGET cairn_frame)
  cairn_unit_test(test_frame cairn_frame cairn_common cairn_proto)
endif()
if(TARGET cairn_frame AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_chunk_store.c)
  add_executable(test_chunk_store test_chunk_store.c
                 ${PROJECT_SOURCE_DIR}/storagenode/chunk_store.c
                 ${PROJECT_SOURCE_DIR}/storagenode/disks.c
                 ${PROJECT_SOURCE_DIR}/storagenode/segment_log.c
                 ${PROJECT_SOURCE_DIR}/storagenode/scrubber.c
                 ${PROJECT_SOURCE_DIR}/storagenode/data_io.c)
  target_include_directories(test_chunk_store PRIVATE
                             ${PROJECT_SOURCE_DIR}/storagenode)
  target_link_libraries(test_chunk_store PRIVATE PkgConfig::CMOCKA
                        cairn_common PkgConfig::ISAL PkgConfig::UV
                        Threads::Threads)
  target_link_options(test_chunk_store PRIVATE -Wl,--wrap=fdatasync
                      -Wl,--wrap=pwrite)
  add_test(NAME test_chunk_store COMMAND test_chunk_store)
  set_tests_properties(test_chunk_store PROPERTIES TIMEOUT 120)
endif()
# A node's data server and the coordinator's links to it: the tests that
# talk to real node data servers over loopback build them in.
set(CAIRN_TEST_DATA_PATH_SOURCES
    ${PROJECT_SOURCE_DIR}/storagenode/chunk_store.c
    ${PROJECT_SOURCE_DIR}/storagenode/disks.c
    ${PROJECT_SOURCE_DIR}/storagenode/segment_log.c
    ${PROJECT_SOURCE_DIR}/storagenode/data_io.c
    ${PROJECT_SOURCE_DIR}/storagenode/data_server.c
    ${PROJECT_SOURCE_DIR}/coordinator/cluster/node_link.c)
if(TARGET cairn_frame AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_node_link.c)
  add_executable(test_node_link test_node_link.c
                 ${CAIRN_TEST_DATA_PATH_SOURCES})
  target_include_directories(test_node_link PRIVATE
                             ${PROJECT_SOURCE_DIR}/storagenode
                             ${PROJECT_SOURCE_DIR}/coordinator/cluster)
  target_link_libraries(test_node_link PRIVATE PkgConfig::CMOCKA cairn_frame
                        cairn_common cairn_proto PkgConfig::ISAL PkgConfig::UV
                        Threads::Threads)
  add_test(NAME test_node_link COMMAND test_node_link)
  set_tests_properties(test_node_link PROPERTIES TIMEOUT 120)
endif()
# The upload memory plan (object_writer.c's pure part).
if(TARGET cairn_data)
  cairn_unit_test(test_object_writer_plan cairn_data cairn_cluster cairn_meta)
endif()
# coordinator/data/object_reader.c against two real node data servers, its
# sealed blocks opened inline and on cpu_pool workers (registry stubbed).
if(TARGET cairn_frame)
  add_executable(test_object_reader test_object_reader.c
                 ${CAIRN_TEST_DATA_PATH_SOURCES}
                 ${PROJECT_SOURCE_DIR}/coordinator/data/object_reader.c
                 ${PROJECT_SOURCE_DIR}/coordinator/data/stripe_reader.c
                 ${PROJECT_SOURCE_DIR}/coordinator/data/erasure.c
                 ${PROJECT_SOURCE_DIR}/coordinator/data/chunk_cipher.c
                 ${PROJECT_SOURCE_DIR}/coordinator/data/cpu_pool.c)
  target_include_directories(test_object_reader PRIVATE
                             ${PROJECT_SOURCE_DIR}/storagenode
                             ${PROJECT_SOURCE_DIR}/coordinator/cluster
                             ${PROJECT_SOURCE_DIR}/coordinator/data
                             ${PROJECT_SOURCE_DIR}/coordinator/meta)
  target_link_libraries(test_object_reader PRIVATE PkgConfig::CMOCKA
                        cairn_frame cairn_common cairn_proto PkgConfig::ISAL
                        PkgConfig::UV Threads::Threads)
  add_test(NAME test_object_reader COMMAND test_object_reader)
  set_tests_properties(test_object_reader PROPERTIES TIMEOUT 120)
endif()
