add_executable(test_placement test_placement.c
               ${PROJECT_SOURCE_DIR}/coordinator/cluster/placement.c)
target_include_directories(test_placement PRIVATE
                           ${PROJECT_SOURCE_DIR}/coordinator/cluster)
target_link_libraries(test_placement PRIVATE PkgConfig::CMOCKA cairn_common m)
add_test(NAME test_placement COMMAND test_placement)
