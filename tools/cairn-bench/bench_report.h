/*
 * bench_report.h - a run's result for people (a table) and for scripts
 * (JSON, which tools/bench.sh reads). Latencies are in milliseconds.
 */
#ifndef CAIRN_BENCH_REPORT_H
#define CAIRN_BENCH_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "bench_options.h"
#include "bench_stats.h"

/* The result as a JSON object; the caller owns the reference (json_decref).
 * NULL when out of memory. */
json_t *bench_report_json(const struct bench_options *o,
                          const struct bench_stats *s);

/* Prints doc as one compact line on stdout and drops the reference (the
 * caller's); CAIRN_ENOMEM for a NULL doc (its construction failed). */
int bench_report_print_json(json_t *doc);

/* Prints the table, then the failures by status and code, if any. */
void bench_report_table(FILE *out, const struct bench_options *o,
                        const struct bench_stats *s);

/* "4 KiB", "1 MiB", "1.5 GiB", "4 KiB-1 MiB" into out. */
void bench_format_size_range(const struct bench_size_range *r, char *out,
                             size_t cap);

#endif
