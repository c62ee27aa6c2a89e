/*
 * bench_disk.h - `cairn-bench disk --dir DIR`: what the file system under
 * a directory can make durable, the ceilings to read the PUT figures
 * against (a node acknowledges a fragment only once it is fdatasync'd):
 *
 *  - bandwidth: BENCH_DISK_WRITERS threads, each appending 1 MiB to its
 *    own file and fdatasync'ing it, as the nodes' segment logs take
 *    fragments up to 1 MiB under concurrent PUTs;
 *  - latency: one thread appending 4 KiB and fdatasync'ing it, as a
 *    group commit of small fragments does.
 *
 * The files are removed before it returns.
 */
#ifndef CAIRN_BENCH_DISK_H
#define CAIRN_BENCH_DISK_H

#define BENCH_DISK_WRITERS 4
#define BENCH_DISK_SECONDS 1.0

struct bench_disk_result {
  double durable_mbps;   /* 10^6 bytes/s over all writers */
  double append_sync_us; /* median of the 4 KiB append + fdatasync */
};

/* Runs both for about `seconds` each in dir. 0 or CAIRN_E* (the dir
 * cannot be written, a write or sync failed). */
int bench_disk_measure(const char *dir, double seconds,
                       struct bench_disk_result *out);

/* `cairn-bench disk`: measures for BENCH_DISK_SECONDS and prints a table
 * or, with json, one JSON object. 0 or CAIRN_E*. */
int bench_disk(const char *dir, int json);

#endif
