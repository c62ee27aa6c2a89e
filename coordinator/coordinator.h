/*
 * coordinator.h - the context every coordinator module reaches through: one
 * struct, owned by main(), alive for the life of the process. No other
 * global mutable state.
 */
#ifndef CAIRN_COORDINATOR_H
#define CAIRN_COORDINATOR_H

#include <stdint.h>
#include <uv.h>

#include "coord_config.h"
#include "credentials.h"
#include "access.h"
#include "iam.h"
#include "meta.h"
#include "object_writer.h"
#include "sigv4.h"

struct meta;
struct cluster;
struct http_server;
struct node_link_pool;
struct cpu_pool;
struct put_waiter;
struct gc;
struct repairer;
struct kms;
struct s3_bucket_access;

/* Buckets whose access (record, policy, ACL) the S3 layer keeps loaded. */
#define S3_BUCKET_CACHE_SLOTS 64
struct buf_pool;

struct coordinator {
  uv_loop_t *loop;
  struct coord_config config;
  struct coord_secrets secrets;
  struct iam iam;       /* users, keys, groups; root from secrets */
  struct access access; /* what authentication accepts (iam, sigv2, tokens) */
  struct sigv4_key_cache key_cache;  /* derived signing keys (loop thread) */
  struct meta_layout default_layout; /* --layout, or replica:--replicas */
  struct kms *kms; /* master key: seals data keys and IAM secrets */
  struct meta *meta;
  struct cluster *cluster;
  struct http_server *http;
  struct node_link_pool *links; /* connections to the nodes' data ports */
  /* PUT hashing/sealing/encoding, GET opening threads (cpu_pool.h) */
  struct cpu_pool *cpu;
  struct gc *gc;             /* deletes unreferenced chunks */
  struct repairer *repairer; /* rebuilds degraded chunks */
  int64_t started_ms;        /* unix ms, for /healthz uptime */
  /* Object PUTs and GETs streaming now: their windows share a budget
   * (s3_object.c, s3_get.c), so memory stays bounded at many connections. */
  uint32_t puts_active, gets_active;
  uint64_t puts_held; /* the active PUTs' pieces at most (object_writer_plan) */
  uint64_t gets_held; /* the active GETs' windows */
  /* Erasure-coded writers waiting for the PUT budget (s3_put_budget.h), in
   * arrival order, and how many ever waited. */
  struct put_waiter *puts_waiting;
  uint32_t puts_waiting_n;
  uint64_t puts_waited;
  uint64_t trimmed_ms; /* last malloc_trim (s3_object.c), loop time */
  /* The loop thread's CPU use, sampled by GETs (s3_get.c): loop time and
   * thread CPU ns at the last sample, and whether it was busy then. */
  uint64_t loop_sampled_ms, loop_cpu_ns;
  int loop_busy;
  /* GET response batches (s3_ops.h): [0] full size, [1] one block. */
  struct buf_pool *get_buffers[2];
  struct buf_pool *get_staging; /* sealed blocks to open (object_reader.h) */
  /* Full upload pieces of each size (object_writer.h, s3_ops.h). */
  struct buf_pool *put_pieces[OBJECT_WRITER_POOLS];
  uv_async_t meta_async; /* group-commit completions (meta_set_notify) */
  /* s3_auth.c: by hash of the bucket name, NULL or a reference. */
  struct s3_bucket_access *bucket_cache[S3_BUCKET_CACHE_SLOTS];
  uv_signal_t sigterm, sigint;
  int stopping;
};

/* Unix time in milliseconds. */
int64_t coord_now_ms(void);

#endif
