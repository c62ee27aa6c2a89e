# Data-channel framing and the node's fragment files.
cairn_unit_test(test_frame_reader cairn_frame cairn_common)
add_executable(test_chunk_files test_chunk_files.c
               ${PROJECT_SOURCE_DIR}/storagenode/chunk_store.c)
target_include_directories(test_chunk_files PRIVATE
                           ${PROJECT_SOURCE_DIR}/storagenode)
target_link_libraries(test_chunk_files PRIVATE PkgConfig::CMOCKA cairn_common
                      PkgConfig::ISAL)
add_test(NAME test_chunk_files COMMAND test_chunk_files)
