/* bench_options.c - cairn-bench's command line (see bench_options.h). */
#include "bench_options.h"

#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scenario_names[] = {
    [BENCH_PUT] = "put",     [BENCH_GET] = "get",
    [BENCH_MIXED] = "mixed", [BENCH_DELETE] = "delete",
    [BENCH_LIST] = "list",   [BENCH_MULTIPART] = "multipart",
};
#define SCENARIO_COUNT (sizeof scenario_names / sizeof scenario_names[0])

const char *bench_scenario_name(enum bench_scenario s) {
  return (size_t)s < SCENARIO_COUNT ? scenario_names[s] : "?";
}

void bench_options_usage(void) {
  printf(
      "usage: cairn-bench SCENARIO [options]\n"
      "       cairn-bench speed [--json]\n"
      "       cairn-bench disk --dir DIR [--json]\n\n"
      "scenarios:\n"
      "  put        PUT new objects\n"
      "  get        GET the --prefill objects\n"
      "  mixed      GET or overwrite the --prefill objects (--get-ratio)\n"
      "  delete     DELETE the --prefill objects, each once\n"
      "  list       ListObjectsV2 pages (1000 keys) over the --prefill "
      "objects; keys/s\n"
      "  multipart  multipart uploads, parts in parallel, then complete\n"
      "  speed      single-core AES-256-GCM, MD5 and ISA-L RS(4,2) encode\n"
      "  disk       DIR's file system: MB/s made durable (1 MiB appends +\n"
      "             fdatasync, 4 writers) and a 4 KiB append + fdatasync\n\n"
      "options:\n"
      "  --endpoint URL      S3 endpoint, path-style (http://127.0.0.1:9000)\n"
      "  --access-key KEY    default $AWS_ACCESS_KEY_ID\n"
      "  --secret-key KEY    default $AWS_SECRET_ACCESS_KEY\n"
      "  --region NAME       SigV4 region (us-east-1)\n"
      "  --bucket NAME       created if missing (cairn-bench)\n"
      "  --prefix TEXT       key prefix (bench/)\n"
      "  --size N[:M]        object size, k/m/g suffixes; N:M draws sizes\n"
      "                      log-uniformly from N..M (1m)\n"
      "  --part-size N       multipart part size, >= 5m (16m)\n"
      "  --concurrency N     requests in flight, 1..1024 (16)\n"
      "  --duration T        how long to measure: 30, 30s, 500ms, 2m (10s)\n"
      "  --ops N             stop after N operations instead\n"
      "  --prefill N         objects written first for get, mixed, delete,\n"
      "                      list (100; list 10000)\n"
      "  --existing          the prefill objects exist already (same\n"
      "                      --bucket, --prefix): do not write them\n"
      "  --keys MODE         sequential or random key choice (sequential)\n"
      "  --get-ratio R       mixed: share of GETs, 0..1 (0.5)\n"
      "  --anonymous         send unsigned requests (plain web servers);\n"
      "                      implies --existing, no bucket creation\n"
      "  --json              print the result as JSON\n\n"
      "Bodies are sent as UNSIGNED-PAYLOAD (x-amz-content-sha256) from one\n"
      "pre-generated random buffer, so the client hashes nothing per byte.\n"
      "Keys are PREFIX + obj-NNNNNNNNNN. Exit codes: 0 ok, 1 a request\n"
      "failed, 2 bad arguments.\n");
}

static int fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
  return CAIRN_EINVAL;
}

/* The decimal number text starts with (digits only: strtoull alone takes
 * " -1"); *end points after it. 0 or CAIRN_EINVAL. */
static int leading_number(const char *text, unsigned long long *v, char **end) {
  if (!text || !isdigit((unsigned char)text[0]))
    return CAIRN_EINVAL;
  errno = 0;
  *v = strtoull(text, end, 10);
  return errno ? CAIRN_EINVAL : 0;
}

static int parse_count(const char *text, uint64_t max, uint64_t *out) {
  unsigned long long v;
  char *end;
  if (leading_number(text, &v, &end) || *end || v > max)
    return CAIRN_EINVAL;
  *out = v;
  return 0;
}

int bench_parse_size(const char *text, uint64_t *out) {
  unsigned long long v;
  char *end;
  if (leading_number(text, &v, &end))
    return CAIRN_EINVAL;
  unsigned shift = 0;
  switch (tolower((unsigned char)*end)) {
  case '\0': break;
  case 'k': shift = 10; break;
  case 'm': shift = 20; break;
  case 'g': shift = 30; break;
  default: return CAIRN_EINVAL;
  }
  if (*end && end[1])
    return CAIRN_EINVAL;
  if (v > (BENCH_OBJECT_MAX >> shift))
    return CAIRN_EINVAL;
  *out = (uint64_t)v << shift;
  return 0;
}

int bench_parse_size_range(const char *text, struct bench_size_range *out) {
  char buf[64];
  if (!text || strlen(text) >= sizeof buf)
    return CAIRN_EINVAL;
  strcpy(buf, text);
  char *colon = strchr(buf, ':');
  if (colon)
    *colon = '\0';
  uint64_t min, max;
  if (bench_parse_size(buf, &min))
    return CAIRN_EINVAL;
  max = min;
  if (colon && (bench_parse_size(colon + 1, &max) || max < min))
    return CAIRN_EINVAL;
  out->min = min;
  out->max = max;
  return 0;
}

int bench_parse_duration(const char *text, double *seconds) {
  if (!text || !isdigit((unsigned char)text[0]))
    return CAIRN_EINVAL;
  errno = 0;
  char *end;
  double v = strtod(text, &end);
  if (errno)
    return CAIRN_EINVAL;
  if (strcmp(end, "ms") == 0)
    v /= 1000.0;
  else if (strcmp(end, "m") == 0)
    v *= 60.0;
  else if (*end && strcmp(end, "s") != 0)
    return CAIRN_EINVAL;
  if (!(v > 0.0) || v > BENCH_DURATION_MAX)
    return CAIRN_EINVAL;
  *seconds = v;
  return 0;
}

static int copy_bounded(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap)
    return CAIRN_EINVAL;
  memcpy(dst, src, n + 1);
  return 0;
}

/* "http[s]://host[:port]" with nothing after but an optional '/'. */
static int set_endpoint(struct bench_options *o, const char *url) {
  const char *host = NULL;
  if (strncmp(url, "http://", 7) == 0)
    host = url + 7;
  else if (strncmp(url, "https://", 8) == 0)
    host = url + 8;
  if (!host || !*host || *host == '/')
    return CAIRN_EINVAL;
  size_t host_len = strcspn(host, "/?#");
  if (host[host_len] && strcmp(host + host_len, "/") != 0)
    return CAIRN_EINVAL; /* path-style: the bucket is the first segment */
  if (host_len > BENCH_HOST_MAX)
    return CAIRN_EINVAL;
  size_t url_len = (size_t)(host - url) + host_len;
  if (url_len > BENCH_ENDPOINT_MAX)
    return CAIRN_EINVAL;
  memcpy(o->endpoint, url, url_len);
  o->endpoint[url_len] = '\0';
  memcpy(o->host, host, host_len);
  o->host[host_len] = '\0';
  return 0;
}

/* S3's rules, simplified: 3..63 of [a-z0-9.-], starting and ending with a
 * letter or digit. */
static int valid_bucket(const char *name) {
  size_t n = strlen(name);
  if (n < 3 || n > BENCH_BUCKET_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' ||
          c == '.'))
      return 0;
  }
  return isalnum((unsigned char)name[0]) && isalnum((unsigned char)name[n - 1]);
}

static int scenario_of(const char *name, enum bench_scenario *out) {
  for (size_t i = 0; i < SCENARIO_COUNT; i++) {
    if (strcmp(name, scenario_names[i]) == 0) {
      *out = (enum bench_scenario)i;
      return 0;
    }
  }
  return CAIRN_EINVAL;
}

static void set_defaults(struct bench_options *o) {
  memset(o, 0, sizeof *o);
  strcpy(o->endpoint, "http://127.0.0.1:9000");
  strcpy(o->host, "127.0.0.1:9000");
  strcpy(o->region, "us-east-1");
  strcpy(o->bucket, "cairn-bench");
  strcpy(o->prefix, "bench/");
  o->size.min = o->size.max = 1u << 20;
  o->part_size = 16u << 20;
  o->concurrency = 16;
  o->duration_seconds = 10.0;
  o->keys = BENCH_KEYS_SEQUENTIAL;
  o->get_ratio = 0.5;
}

/* One option and its value (NULL for flags); 0 or CAIRN_EINVAL + err. */
static int apply_option(struct bench_options *o, const char *name,
                        const char *value, int *prefill_given, char *err,
                        size_t err_len) {
  uint64_t n;
  if (strcmp(name, "endpoint") == 0) {
    if (set_endpoint(o, value))
      return fail(err, err_len,
                  "--endpoint %s: give http://HOST:PORT (path-style, no "
                  "path)",
                  value);
  } else if (strcmp(name, "access-key") == 0) {
    if (copy_bounded(o->access_key, sizeof o->access_key, value))
      return fail(err, err_len, "--access-key: at most %d characters",
                  BENCH_KEY_MAX);
  } else if (strcmp(name, "secret-key") == 0) {
    if (copy_bounded(o->secret_key, sizeof o->secret_key, value))
      return fail(err, err_len, "--secret-key: at most %d characters",
                  BENCH_SECRET_MAX);
  } else if (strcmp(name, "region") == 0) {
    if (!*value || copy_bounded(o->region, sizeof o->region, value))
      return fail(err, err_len, "--region: 1 to %d characters",
                  BENCH_REGION_MAX);
  } else if (strcmp(name, "bucket") == 0) {
    if (!valid_bucket(value))
      return fail(err, err_len,
                  "--bucket %s: use 3 to 63 of a-z 0-9 . - (S3 names)", value);
    strcpy(o->bucket, value);
  } else if (strcmp(name, "prefix") == 0) {
    if (copy_bounded(o->prefix, sizeof o->prefix, value))
      return fail(err, err_len, "--prefix: at most %d bytes", BENCH_PREFIX_MAX);
  } else if (strcmp(name, "size") == 0) {
    if (bench_parse_size_range(value, &o->size))
      return fail(err, err_len,
                  "--size %s: give a size such as 4096, 4k, 1m, 2g, or "
                  "MIN:MAX such as 4k:1m (at most 5t)",
                  value);
  } else if (strcmp(name, "part-size") == 0) {
    if (bench_parse_size(value, &o->part_size) ||
        o->part_size < BENCH_PART_MIN || o->part_size > BENCH_PART_MAX)
      return fail(err, err_len, "--part-size %s: give 5m to 5g (S3 limits)",
                  value);
  } else if (strcmp(name, "concurrency") == 0) {
    if (parse_count(value, BENCH_CONCURRENCY_MAX, &n) || n == 0)
      return fail(err, err_len, "--concurrency %s: give 1 to %d", value,
                  BENCH_CONCURRENCY_MAX);
    o->concurrency = (unsigned)n;
  } else if (strcmp(name, "duration") == 0) {
    if (bench_parse_duration(value, &o->duration_seconds))
      return fail(err, err_len,
                  "--duration %s: give seconds (30, 30s), 500ms or 2m, at "
                  "most a day",
                  value);
  } else if (strcmp(name, "ops") == 0) {
    if (parse_count(value, UINT64_MAX / 2, &o->ops) || o->ops == 0)
      return fail(err, err_len, "--ops %s: give a positive count", value);
  } else if (strcmp(name, "prefill") == 0) {
    if (parse_count(value, BENCH_PREFILL_MAX, &o->prefill))
      return fail(err, err_len, "--prefill %s: give 0 to %llu", value,
                  BENCH_PREFILL_MAX);
    *prefill_given = 1;
  } else if (strcmp(name, "keys") == 0) {
    if (strcmp(value, "sequential") == 0)
      o->keys = BENCH_KEYS_SEQUENTIAL;
    else if (strcmp(value, "random") == 0)
      o->keys = BENCH_KEYS_RANDOM;
    else
      return fail(err, err_len, "--keys %s: give sequential or random", value);
  } else if (strcmp(name, "get-ratio") == 0) {
    char *end;
    errno = 0;
    o->get_ratio = strtod(value, &end);
    if (errno || end == value || *end || !(o->get_ratio >= 0.0) ||
        o->get_ratio > 1.0)
      return fail(err, err_len, "--get-ratio %s: give a number from 0 to 1",
                  value);
  } else {
    return fail(err, err_len, "unknown option --%s (see --help)", name);
  }
  return 0;
}

static int is_flag(const char *name) {
  return strcmp(name, "json") == 0 || strcmp(name, "anonymous") == 0 ||
         strcmp(name, "existing") == 0;
}

static void apply_flag(struct bench_options *o, const char *name) {
  if (strcmp(name, "json") == 0)
    o->json = 1;
  else if (strcmp(name, "anonymous") == 0)
    o->anonymous = o->existing = 1;
  else
    o->existing = 1;
}

/* What the options mean together, once all are read. */
static int check_combination(struct bench_options *o, int prefill_given,
                             bench_getenv_fn env, char *err, size_t err_len) {
  if (!prefill_given)
    o->prefill = o->scenario == BENCH_LIST ? 10000 : 100;
  int reads = o->scenario == BENCH_GET || o->scenario == BENCH_MIXED ||
              o->scenario == BENCH_DELETE || o->scenario == BENCH_LIST;
  if (reads && o->prefill == 0)
    return fail(err, err_len, "%s needs objects: give --prefill N (N > 0)",
                bench_scenario_name(o->scenario));
  if (o->anonymous && o->scenario != BENCH_GET)
    return fail(err, err_len,
                "--anonymous works with the get scenario only (plain "
                "web servers take no PUT)");
  if (o->scenario == BENCH_MULTIPART) {
    if (o->size.min == 0)
      return fail(err, err_len, "multipart needs --size of at least 1 byte");
    if ((o->size.max + o->part_size - 1) / o->part_size > BENCH_PARTS_MAX)
      return fail(err, err_len,
                  "--size over --part-size makes more than %u parts: raise "
                  "--part-size",
                  BENCH_PARTS_MAX);
  }
  if (o->anonymous)
    return 0;
  if (!o->access_key[0] && env && env("AWS_ACCESS_KEY_ID"))
    copy_bounded(o->access_key, sizeof o->access_key, env("AWS_ACCESS_KEY_ID"));
  if (!o->secret_key[0] && env && env("AWS_SECRET_ACCESS_KEY"))
    copy_bounded(o->secret_key, sizeof o->secret_key,
                 env("AWS_SECRET_ACCESS_KEY"));
  if (!o->access_key[0] || !o->secret_key[0])
    return fail(err, err_len,
                "no credentials: give --access-key and --secret-key, or set "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  return 0;
}

int bench_options_parse(int argc, char **argv, bench_getenv_fn env,
                        struct bench_options *out, char *err, size_t err_len) {
  set_defaults(out);
  err[0] = '\0';
  if (argc < 2)
    return fail(err, err_len,
                "give a scenario: put, get, mixed, delete, list, multipart, "
                "speed or disk (see --help)");
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    bench_options_usage();
    return 1;
  }
  if (scenario_of(argv[1], &out->scenario))
    return fail(err, err_len,
                "unknown scenario %s: give put, get, mixed, delete, list, "
                "multipart, speed or disk",
                argv[1]);
  int prefill_given = 0;
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      bench_options_usage();
      return 1;
    }
    if (strncmp(arg, "--", 2) != 0)
      return fail(err, err_len, "unexpected argument %s (options start --)",
                  arg);
    char name[32];
    const char *eq = strchr(arg + 2, '=');
    size_t name_len = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
    if (name_len == 0 || name_len >= sizeof name)
      return fail(err, err_len, "unknown option %s (see --help)", arg);
    memcpy(name, arg + 2, name_len);
    name[name_len] = '\0';
    if (is_flag(name)) {
      if (eq)
        return fail(err, err_len, "--%s takes no value", name);
      apply_flag(out, name);
      continue;
    }
    const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!value)
      return fail(err, err_len, "--%s needs a value", name);
    int rc = apply_option(out, name, value, &prefill_given, err, err_len);
    if (rc)
      return rc;
  }
  return check_combination(out, prefill_given, env, err, err_len);
}
