# coordinator/acl: the ACL model and checks, and the ACL XML bodies of
# cairn_s3proto. Pure: no server.
if(TARGET cairn_acl AND TARGET cairn_s3proto)
  cairn_unit_test(test_acl cairn_acl cairn_s3proto cairn_common)
endif()
