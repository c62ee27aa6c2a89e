# coordinator/s3 pure protocol parts (cairn_s3proto): error table, XML
# writer and dates, XML request bodies, routing. No server.
if(TARGET cairn_s3proto)
  cairn_unit_test(test_s3_error cairn_s3proto cairn_common)
  cairn_unit_test(test_s3_xml cairn_s3proto cairn_common PkgConfig::EXPAT)
  cairn_unit_test(test_s3_route cairn_s3proto cairn_common)
endif()
# The binding of S3_OP_MAP's implemented operations to handlers (cairn_s3).
if(TARGET cairn_s3)
  cairn_unit_test(test_s3_handlers cairn_s3)
endif()
