# coordinator/data/cpu_pool.c: ordered lanes of CPU jobs on worker threads.
add_executable(test_cpu_pool test_cpu_pool.c
               ${PROJECT_SOURCE_DIR}/coordinator/data/cpu_pool.c)
target_include_directories(test_cpu_pool PRIVATE
                           ${PROJECT_SOURCE_DIR}/coordinator/data)
target_link_libraries(test_cpu_pool PRIVATE PkgConfig::CMOCKA cairn_common
                      PkgConfig::UV Threads::Threads)
add_test(NAME test_cpu_pool COMMAND test_cpu_pool)
set_tests_properties(test_cpu_pool PROPERTIES TIMEOUT 120)
