# coordinator/data/chunk_cipher.c: per-block AES-256-GCM of chunk bytes.
add_executable(test_chunk_cipher test_chunk_cipher.c
               ${PROJECT_SOURCE_DIR}/coordinator/data/chunk_cipher.c)
target_include_directories(test_chunk_cipher PRIVATE
                           ${PROJECT_SOURCE_DIR}/coordinator/data)
target_link_libraries(test_chunk_cipher PRIVATE PkgConfig::CMOCKA cairn_common)
add_test(NAME test_chunk_cipher COMMAND test_chunk_cipher)
