/*
 * bench_options.h - what one cairn-bench run does, parsed from its command
 * line: the scenario, the endpoint and credentials, the object sizes, the
 * concurrency and when to stop. Pure: no I/O but the environment lookup the
 * caller passes in, so the tests feed it fixed values.
 *
 * Every number is bounded here (BENCH_*_MAX) so the runner can size its
 * buffers from the options without further checks.
 */
#ifndef CAIRN_BENCH_OPTIONS_H
#define CAIRN_BENCH_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_ENDPOINT_MAX 255
#define BENCH_HOST_MAX 255
#define BENCH_KEY_MAX 128    /* IAM access key ids <= 128 */
#define BENCH_SECRET_MAX 255 /* as SIGV4_SECRET_MAX */
#define BENCH_REGION_MAX 63  /* as SIGV4_REGION_MAX */
#define BENCH_BUCKET_MAX 63  /* S3 bucket names: 3..63 characters */
#define BENCH_PREFIX_MAX 512 /* S3 keys are <= 1024 bytes; leave room */
#define BENCH_CONCURRENCY_MAX 1024
#define BENCH_PREFILL_MAX 10000000ull
#define BENCH_OBJECT_MAX (5ull << 40) /* S3: objects up to 5 TiB */
#define BENCH_PART_MIN (5ull << 20)   /* S3: parts but the last >= 5 MiB */
#define BENCH_PART_MAX (5ull << 30)   /* S3: parts <= 5 GiB */
#define BENCH_PARTS_MAX 10000u        /* S3: at most 10,000 parts */
#define BENCH_DURATION_MAX 86400.0    /* seconds */

enum bench_scenario {
  BENCH_PUT,
  BENCH_GET,
  BENCH_MIXED,
  BENCH_DELETE,
  BENCH_LIST,
  BENCH_MULTIPART,
};

enum bench_keys { BENCH_KEYS_SEQUENTIAL, BENCH_KEYS_RANDOM };

/* Object sizes: fixed when min == max, else drawn log-uniformly from
 * [min, max] so that small and large objects are equally represented. */
struct bench_size_range {
  uint64_t min, max;
};

struct bench_options {
  enum bench_scenario scenario;
  char endpoint[BENCH_ENDPOINT_MAX + 1]; /* "http://host:port", no '/' */
  char host[BENCH_HOST_MAX + 1];         /* the Host header: "host:port" */
  char access_key[BENCH_KEY_MAX + 1];
  char secret_key[BENCH_SECRET_MAX + 1];
  char region[BENCH_REGION_MAX + 1];
  char bucket[BENCH_BUCKET_MAX + 1];
  char prefix[BENCH_PREFIX_MAX + 1];
  struct bench_size_range size;
  uint64_t part_size;
  unsigned concurrency;
  double duration_seconds; /* used when ops is 0 */
  uint64_t ops;            /* stop after this many operations; 0: duration */
  uint64_t prefill;        /* objects written before get/mixed/delete/list */
  enum bench_keys keys;
  double get_ratio; /* mixed: share of GETs, 0..1 */
  int json;
  int anonymous; /* unsigned requests; implies existing */
  int existing;  /* the prefill objects are already there: do not write */
};

/* Looks an environment variable up (getenv in main, a table in tests). */
typedef const char *(*bench_getenv_fn)(const char *name);

/* Parses argv (argv[1] is the scenario) into out. Returns 0, 1 when --help
 * was asked for (usage printed to stdout, exit 0), or CAIRN_EINVAL with a
 * one-line message in err saying what to change. */
int bench_options_parse(int argc, char **argv, bench_getenv_fn env,
                        struct bench_options *out, char *err, size_t err_len);

/* Prints the usage text to stdout. */
void bench_options_usage(void);

/* "4096", "4k", "1m", "2g" (binary, either case) -> bytes, at most
 * BENCH_OBJECT_MAX. 0 or CAIRN_EINVAL. */
int bench_parse_size(const char *text, uint64_t *out);
/* "1m" or "4k:1m" (min:max, min <= max). 0 or CAIRN_EINVAL. */
int bench_parse_size_range(const char *text, struct bench_size_range *out);
/* "30", "30s", "500ms", "2m" -> seconds (> 0, <= BENCH_DURATION_MAX). */
int bench_parse_duration(const char *text, double *seconds);

const char *bench_scenario_name(enum bench_scenario s);

#endif
