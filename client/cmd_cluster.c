/* cmd_cluster.c - `cairn cluster status`: the nodes and their state. */
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
        "Cairn %s, up %lld s, nodes up: %lld of %lld\n\n",
        json_string_value(json_object_get(doc, "version")),
        (long long)json_integer_value(json_object_get(doc, "uptime_seconds")),
        (long long)up, (long long)total);
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
