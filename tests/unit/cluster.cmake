# Control plane: envelope MACs (common), node identity and capacity
# (storagenode), and registry + node control client on one loop
# (coordinator/cluster + storagenode, with an in-test fake of meta_node_*).
cairn_unit_test(test_control_envelope cairn_common cairn_proto)
if(TARGET cairn_node_control)
  cairn_unit_test(test_control_identity cairn_node_control)
  if(TARGET cairn_cluster)
    cairn_unit_test(test_control_loop cairn_cluster cairn_node_control)
  endif()
endif()
