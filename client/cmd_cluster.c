/* cmd_cluster.c - `cairn cluster status`: the nodes and their state, the
 * cluster's capacity and used space, and its redundancy (degraded chunks
 * waiting for the repairer), all from /healthz. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void human_bytes(json_int_t bytes, char *out, size_t cap) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    u++;
  }
  snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* Capacity, used space and redundancy: the lines an operator reads first. */
static void print_totals(json_t *doc) {
  /* The server's totals: it knows which nodes share a filesystem. */
  json_int_t capacity =
      json_integer_value(json_object_get(doc, "capacity_bytes"));
  json_int_t free_bytes =
      json_integer_value(json_object_get(doc, "free_bytes"));
  char cap[32], used[32], repaired[32];
  human_bytes(capacity, cap, sizeof cap);
  human_bytes(capacity > free_bytes ? capacity - free_bytes : 0, used,
              sizeof used);
  json_t *r = json_object_get(doc, "repair");
  json_int_t degraded =
      json_integer_value(json_object_get(r, "degraded_chunks"));
  human_bytes(json_integer_value(json_object_get(r, "bytes_repaired")),
              repaired, sizeof repaired);
  printf("capacity %s, used %s\n", cap, used);
  printf("redundancy: %s, %lld degraded chunk(s); repaired %lld chunk(s), "
         "%s, %lld failed attempt(s)\n\n",
         degraded ? "DEGRADED" : "full", (long long)degraded,
         (long long)json_integer_value(json_object_get(r, "repaired")),
         repaired, (long long)json_integer_value(json_object_get(r, "failed")));
}

static int cluster_status(const struct cli *cli) {
  json_t *doc = NULL;
  int rc = cli_get_json(cli, "/healthz", &doc);
  if (rc != CLI_OK)
    return rc;
  json_t *nodes = json_object_get(doc, "nodes");
  json_int_t up = json_integer_value(json_object_get(doc, "nodes_up"));
  json_int_t total = json_integer_value(json_object_get(doc, "nodes_total"));
  if (cli->json) {
    char *text = json_dumps(doc, JSON_INDENT(2));
    puts(text ? text : "{}");
    free(text);
  } else {
    printf(
        "Cairn %s, up %lld s, nodes up: %lld of %lld\n",
        json_string_value(json_object_get(doc, "version")),
        (long long)json_integer_value(json_object_get(doc, "uptime_seconds")),
        (long long)up, (long long)total);
    print_totals(doc);
    printf("%-32s  %-21s  %-5s  %10s  %10s  %s\n", "NODE", "ADDRESS", "STATE",
           "CAPACITY", "FREE", "LAST HEARTBEAT");
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) {
      char cap[32], free_text[32];
      human_bytes(json_integer_value(json_object_get(n, "capacity_bytes")), cap,
                  sizeof cap);
      human_bytes(json_integer_value(json_object_get(n, "free_bytes")),
                  free_text, sizeof free_text);
      const char *hb = json_string_value(json_object_get(n, "last_heartbeat"));
      printf("%-32s  %-21s  %-5s  %10s  %10s  %s\n",
             json_string_value(json_object_get(n, "id")),
             json_string_value(json_object_get(n, "address")),
             json_string_value(json_object_get(n, "state")), cap, free_text,
             hb ? hb : "never");
    }
  }
  json_decref(doc);
  /* A cluster with a node down is reported as a failure for scripts. */
  return up == total && total > 0 ? CLI_OK : CLI_FAILED;
}

int cmd_cluster(const struct cli *cli, int argc, char **argv) {
  if (argc >= 1 && strcmp(argv[0], "status") == 0)
    return cluster_status(cli);
  fprintf(stderr, "usage: cairn cluster status [--json]\n");
  return CLI_USAGE;
}
