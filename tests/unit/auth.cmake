# common/sigv4, common/checksum (test_checksum is listed in common.cmake) and
# coordinator/auth: pure code, no server.
foreach(t test_sigv4 test_sigv4_verify test_aws_chunked test_sigv2 test_token)
  if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${t}.c)
    continue()
  endif()
  if(t STREQUAL "test_sigv4")
    cairn_unit_test(${t} cairn_common)
  else()
    cairn_unit_test(${t} cairn_auth cairn_common)
  endif()
endforeach()
