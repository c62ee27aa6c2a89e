/*
 * bench_run.h - runs one scenario against an S3 endpoint on libcurl's multi
 * interface: one thread, --concurrency transfers in flight on keep-alive
 * connections, each a small state machine (see bench_run.c).
 */
#ifndef CAIRN_BENCH_RUN_H
#define CAIRN_BENCH_RUN_H

#include "bench_options.h"
#include "bench_stats.h"

/* Creates the bucket (unless --anonymous), writes the prefill objects
 * (unless --existing), then measures the scenario into *out. Returns 0, or
 * CAIRN_E* when the run could not be set up (bucket or prefill failed, out
 * of memory); the reason is printed to stderr. curl_global_init and
 * crypto_init must have been called. */
int bench_run(const struct bench_options *o, struct bench_stats *out);

#endif
