# coordinator/http: the HTTP/1.1 server, driven by a client thread.
cairn_unit_test(test_http_server cairn_http cairn_common Threads::Threads)
