/*
 * main.c - `cairn`, the operator CLI: global options, then a noun and a
 * verb (`cairn cluster status`). Each noun lives in its own cmd_<noun>.c.
 */
#include "cli.h"

#include "crypto.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out) {
  fprintf(out, "usage: cairn [--endpoint URL] [--json] [--access-key K "
               "--secret-key S] [--region R] <command>\n\n"
               "commands:\n"
               "  cluster status     nodes, capacity, used space, redundancy "
               "(degraded chunks)\n"
               "  node ls|drain|rm   storage nodes: list, drain, remove "
               "(`cairn node` for usage)\n"
               "  admin ...          users, access keys, policies, groups "
               "(`cairn admin` for the list)\n"
               "  token ...          scoped tokens: issue, inspect, revoke-all "
               "(`cairn token` for the list)\n"
               "  bucket policy ...  bucket policies (`cairn bucket` for the "
               "list)\n\n"
               "The endpoint defaults to $CAIRN_ENDPOINT, else "
               "http://127.0.0.1:9000.\n"
               "Exit codes: 0 ok, 1 failed or unhealthy, 2 usage, 3 "
               "unreachable.\n");
}

/* --access-key / --secret-key / --region with their value: 1 if taken. */
static int option_value(struct cli *cli, const char *name, const char *value) {
  if (!value)
    return 0;
  if (strcmp(name, "--access-key") == 0)
    cli->access_key = value;
  else if (strcmp(name, "--secret-key") == 0)
    cli->secret_key = value;
  else if (strcmp(name, "--region") == 0)
    cli->region = value;
  else
    return 0;
  return 1;
}

int main(int argc, char **argv) {
  struct cli cli = {.endpoint = getenv("CAIRN_ENDPOINT"),
                    .json = 0,
                    .access_key = getenv("CAIRN_ACCESS_KEY"),
                    .secret_key = getenv("CAIRN_SECRET_KEY"),
                    .region = getenv("CAIRN_REGION")};
  if (!cli.endpoint || !*cli.endpoint)
    cli.endpoint = "http://127.0.0.1:9000";
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      cli.json = 1;
    } else if (strcmp(argv[i], "--endpoint") == 0 && i + 1 < argc) {
      cli.endpoint = argv[++i];
    } else if (option_value(&cli, argv[i], i + 1 < argc ? argv[i + 1] : NULL)) {
      i++;
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
    else if (option_value(&cli, argv[j], j + 1 < argc ? argv[j + 1] : NULL))
      j++;
    else
      args[rest++] = argv[j];
  }
  if (!cli.region || !*cli.region)
    cli.region = "us-east-1";
  if (crypto_init() != 0) {
    fprintf(stderr, "cairn: OpenSSL could not provide SHA-256/HMAC\n");
    return CLI_FAILED;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc;
  if (strcmp(argv[i], "cluster") == 0) {
    rc = cmd_cluster(&cli, rest, args);
  } else if (strcmp(argv[i], "node") == 0) {
    rc = cmd_node(&cli, rest, args);
  } else if (strcmp(argv[i], "admin") == 0) {
    rc = cmd_admin(&cli, rest, args);
  } else if (strcmp(argv[i], "token") == 0) {
    rc = cmd_token(&cli, rest, args);
  } else if (strcmp(argv[i], "bucket") == 0) {
    rc = cmd_bucket(&cli, rest, args);
  } else {
    fprintf(stderr, "cairn: unknown command '%s'\n", argv[i]);
    usage(stderr);
    rc = CLI_USAGE;
  }
  curl_global_cleanup();
  crypto_shutdown();
  return rc;
}
