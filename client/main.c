/*
 * main.c - `cairn`, the operator CLI: global options, then a noun and a
 * verb (`cairn cluster status`). Each noun lives in its own cmd_<noun>.c.
 */
#include "cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out) {
  fprintf(out,
          "usage: cairn [--endpoint URL] [--json] <command>\n\n"
          "commands:\n"
          "  cluster status     nodes, their state, capacity and free space\n\n"
          "The endpoint defaults to $CAIRN_ENDPOINT, else "
          "http://127.0.0.1:9000.\n"
          "Exit codes: 0 ok, 1 failed or unhealthy, 2 usage, 3 "
          "unreachable.\n");
}

int main(int argc, char **argv) {
  struct cli cli = {.endpoint = getenv("CAIRN_ENDPOINT"), .json = 0};
  if (!cli.endpoint || !*cli.endpoint)
    cli.endpoint = "http://127.0.0.1:9000";
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      cli.json = 1;
    } else if (strcmp(argv[i], "--endpoint") == 0 && i + 1 < argc) {
      cli.endpoint = argv[++i];
    } else if (strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return CLI_OK;
    } else {
      fprintf(stderr, "cairn: unknown option %s\n", argv[i]);
      usage(stderr);
      return CLI_USAGE;
    }
  }
  if (i >= argc) {
    usage(stderr);
    return CLI_USAGE;
  }
  /* Options may also follow the command: `cairn cluster status --json`. */
  int rest = 0;
  char *args[64];
  for (int j = i + 1; j < argc && rest < 63; j++) {
    if (strcmp(argv[j], "--json") == 0)
      cli.json = 1;
    else
      args[rest++] = argv[j];
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc;
  if (strcmp(argv[i], "cluster") == 0) {
    rc = cmd_cluster(&cli, rest, args);
  } else {
    fprintf(stderr, "cairn: unknown command '%s'\n", argv[i]);
    usage(stderr);
    rc = CLI_USAGE;
  }
  curl_global_cleanup();
  return rc;
}
