/*
 * main.c - `cairn-bench`: parse the options, run one scenario (or `speed`),
 * print the result. Exit codes: 0 ok, 1 a request failed (or the run could
 * not be set up), 2 bad arguments.
 */
#include "bench_options.h"
#include "bench_report.h"
#include "bench_run.h"
#include "bench_disk.h"
#include "bench_speed.h"
#include "crypto.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char *system_getenv(const char *name) {
  return getenv(name);
}

static int run_speed(int argc, char **argv) {
  int json = 0;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else {
      fprintf(stderr, "cairn-bench: speed takes only --json, not %s\n",
              argv[i]);
      return EXIT_USAGE;
    }
  }
  return bench_speed(json) ? EXIT_FAILED : EXIT_OK;
}

static int run_disk(int argc, char **argv) {
  int json = 0;
  const char *dir = NULL;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      dir = argv[++i];
    } else {
      fprintf(stderr, "cairn-bench: disk takes --dir DIR and --json, not %s\n",
              argv[i]);
      return EXIT_USAGE;
    }
  }
  if (!dir || !dir[0]) {
    fprintf(stderr, "cairn-bench: disk needs --dir DIR\n");
    return EXIT_USAGE;
  }
  return bench_disk(dir, json) ? EXIT_FAILED : EXIT_OK;
}

static int print_result(const struct bench_options *o,
                        const struct bench_stats *stats) {
  if (!o->json) {
    bench_report_table(stdout, o, stats);
    return 0;
  }
  return bench_report_print_json(bench_report_json(o, stats)) ? -1 : 0;
}

int main(int argc, char **argv) {
  if (crypto_init()) {
    fprintf(stderr, "cairn-bench: OpenSSL initialisation failed\n");
    return EXIT_FAILED;
  }
  if (argc >= 2 &&
      (strcmp(argv[1], "speed") == 0 || strcmp(argv[1], "disk") == 0)) {
    int code = argv[1][0] == 's' ? run_speed(argc, argv) : run_disk(argc, argv);
    crypto_shutdown();
    return code;
  }
  struct bench_options *o = malloc(sizeof *o);
  struct bench_stats *stats = malloc(sizeof *stats);
  char err[256];
  int code = EXIT_FAILED;
  if (!o || !stats)
    goto done;
  int rc = bench_options_parse(argc, argv, system_getenv, o, err, sizeof err);
  if (rc) {
    code = rc > 0 ? EXIT_OK : EXIT_USAGE;
    if (rc < 0)
      fprintf(stderr, "cairn-bench: %s\n", err);
    goto done;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    goto done;
  rc = bench_run(o, stats);
  if (!rc && print_result(o, stats) == 0)
    code = stats->errors.total ? EXIT_FAILED : EXIT_OK;
  curl_global_cleanup();
done:
  if (o)
    memset(o->secret_key, 0, sizeof o->secret_key);
  free(o);
  free(stats);
  crypto_shutdown();
  return code;
}
