/*
 * bench_speed.h - `cairn-bench speed`: the single-core speed of the
 * per-byte work of Cairn's data path on this machine (AES-256-GCM and MD5
 * on OpenSSL EVP, ISA-L RS(4,2) encode), the ceilings to read the
 * network figures against.
 */
#ifndef CAIRN_BENCH_SPEED_H
#define CAIRN_BENCH_SPEED_H

/* Measures each for about BENCH_SPEED_SECONDS and prints GB/s (10^9) as a
 * table or, with json, one JSON object. 0 or CAIRN_E*. */
#define BENCH_SPEED_SECONDS 0.5
int bench_speed(int json);

#endif
