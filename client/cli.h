/*
 * cli.h - what every `cairn` subcommand shares: the endpoint and output
 * options, and an HTTP GET that returns the parsed JSON document.
 *
 * Exit codes scripts can trust: 0 success, 1 the server said no or the
 * cluster is unhealthy, 2 usage error, 3 cannot reach the coordinator.
 */
#ifndef CAIRN_CLI_H
#define CAIRN_CLI_H

#include <jansson.h>

enum cli_exit {
  CLI_OK = 0,
  CLI_FAILED = 1,
  CLI_USAGE = 2,
  CLI_UNREACHABLE = 3
};

struct cli {
  const char *endpoint; /* --endpoint, CAIRN_ENDPOINT, http://127.0.0.1:9000 */
  int json;             /* --json: machine-readable output */
  /* Signing credentials: --access-key/--secret-key, else CAIRN_ACCESS_KEY /
   * CAIRN_SECRET_KEY; --region, else CAIRN_REGION, else us-east-1. */
  const char *access_key, *secret_key, *region;
  const char *profile; /* --profile, CAIRN_PROFILE (profile.h) */
};

/* GETs endpoint+path and parses the JSON body into *out (caller decrefs).
 * Returns a cli_exit code and prints a message saying what to do on error. */
int cli_get_json(const struct cli *cli, const char *path, json_t **out);

/* A SigV4-signed request (service "s3") with an optional body; the JSON
 * answer (also an error document) goes to *out (caller decrefs) and the
 * HTTP status to *status. Returns a cli_exit code: CLI_OK whenever the
 * server answered JSON, whatever the status. */
int cli_signed_json(const struct cli *cli, const char *method, const char *path,
                    const char *body, size_t body_len, long *status,
                    json_t **out);

/* A signed admin API call (path under /_cairn/admin/v1/, segments
 * encoded here). CLI_OK with the answer in *out (caller decrefs); on an
 * error answer it prints it (JSON with --json) and returns CLI_FAILED. */
int cli_admin_request(const struct cli *cli, const char *method,
                      const char *path, const char *body, size_t len,
                      json_t **out);

/* The same call, printing the answer (a table, or the JSON with --json);
 * returns the exit code. */
int cli_admin_call(const struct cli *cli, const char *method, const char *path,
                   const char *body, size_t len);

int cmd_cluster(const struct cli *cli, int argc, char **argv);
int cmd_admin(const struct cli *cli, int argc, char **argv);
int cmd_node(const struct cli *cli, int argc, char **argv);
/* A policy file ("-": stdin), at most 20 KiB, malloc'd and NUL-terminated;
 * NULL after saying why on stderr. */
char *cli_read_policy(const char *file, size_t *len);
int cmd_token(const struct cli *cli, int argc, char **argv);
int cmd_bucket(const struct cli *cli, int argc, char **argv);

#endif
