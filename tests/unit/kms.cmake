# coordinator/kms: master key file and sealed blobs.
cairn_unit_test(test_kms cairn_kms cairn_common)
