/*
 * main.c - `cairn`, the operator CLI: global options, then a noun and a
 * verb (`cairn cluster status`). Each noun lives in its own cmd_<noun>.c.
 */
#include "cli.h"

#include "crypto.h"
#include "profile.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out) {
  fprintf(out,
          "usage: cairn [--endpoint URL] [--json] [--profile NAME] "
          "[--access-key K --secret-key S] [--region R] <command>\n\n"
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
          "Credentials: flags, else CAIRN_ACCESS_KEY / CAIRN_SECRET_KEY, "
          "else the\nprofile (--profile, $CAIRN_PROFILE or \"default\") of "
          "$CAIRN_CREDENTIALS_FILE\nor ~/.cairn/credentials "
          "([name] sections of access_key, secret_key,\nendpoint, region; "
          "mode 0600).\n"
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
  else if (strcmp(name, "--profile") == 0)
    cli->profile = value;
  else
    return 0;
  return 1;
}

/* Fills what flags and the environment left unset from the profile. A
 * profile named explicitly must exist. 0, or -1 after saying why. */
static int apply_profile(struct cli *cli, struct profile *prof,
                         int endpoint_flag) {
  const char *name = cli->profile && *cli->profile ? cli->profile : "default";
  char path[4096], err[512];
  const char *file = getenv("CAIRN_CREDENTIALS_FILE");
  const char *home = getenv("HOME");
  if (file && *file)
    snprintf(path, sizeof path, "%s", file);
  else if (home && *home)
    snprintf(path, sizeof path, "%s/.cairn/credentials", home);
  else
    return 0;
  int rc = profile_load(path, name, prof, err, sizeof err);
  if (rc < 0) {
    fprintf(stderr, "cairn: %s\n", err);
    return -1;
  }
  if (rc > 0) {
    if (cli->profile && *cli->profile) {
      fprintf(stderr, "cairn: no profile [%s] in %s\n", name, path);
      return -1;
    }
    return 0;
  }
  if (!endpoint_flag && (!cli->endpoint || !*cli->endpoint) &&
      prof->endpoint[0])
    cli->endpoint = prof->endpoint;
  if ((!cli->access_key || !*cli->access_key) && prof->access_key[0])
    cli->access_key = prof->access_key;
  if ((!cli->secret_key || !*cli->secret_key) && prof->secret_key[0])
    cli->secret_key = prof->secret_key;
  if ((!cli->region || !*cli->region) && prof->region[0])
    cli->region = prof->region;
  return 0;
}

int main(int argc, char **argv) {
  struct cli cli = {.endpoint = getenv("CAIRN_ENDPOINT"),
                    .json = 0,
                    .access_key = getenv("CAIRN_ACCESS_KEY"),
                    .secret_key = getenv("CAIRN_SECRET_KEY"),
                    .region = getenv("CAIRN_REGION"),
                    .profile = getenv("CAIRN_PROFILE")};
  int endpoint_flag = 0;
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      cli.json = 1;
    } else if (strcmp(argv[i], "--endpoint") == 0 && i + 1 < argc) {
      cli.endpoint = argv[++i];
      endpoint_flag = 1;
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
  static struct profile prof; /* lives as long as cli */
  if (apply_profile(&cli, &prof, endpoint_flag) != 0)
    return CLI_USAGE;
  if (!cli.endpoint || !*cli.endpoint)
    cli.endpoint = "http://127.0.0.1:9000";
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
