# coordinator/data/erasure.c: Reed-Solomon stripes on ISA-L.
add_executable(test_erasure test_erasure.c
               ${PROJECT_SOURCE_DIR}/coordinator/data/erasure.c
               ${PROJECT_SOURCE_DIR}/coordinator/data/layout.c)
target_include_directories(test_erasure PRIVATE
                           ${PROJECT_SOURCE_DIR}/coordinator/data
                           ${PROJECT_SOURCE_DIR}/coordinator/meta)
target_link_libraries(test_erasure PRIVATE PkgConfig::CMOCKA cairn_common
                      PkgConfig::ISAL)
add_test(NAME test_erasure COMMAND test_erasure)
