# coordinator/iam: real RocksDB and master key in a temporary directory.
if(TARGET cairn_iam)
  cairn_unit_test(test_iam cairn_iam cairn_meta cairn_kms cairn_policy
                  cairn_common)
endif()
