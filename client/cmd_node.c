/* cmd_node.c - `cairn node ls|drain|rm`: the storage nodes through the
 * admin API (SigV4-signed; the routes need cairn:ListNodes, cairn:DrainNode,
 * cairn:RemoveNode). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage_text[] =
    "usage: cairn node ls                 id, address, state, capacity, used, "
    "fragments\n"
    "       cairn node drain <id> [--wait]  move every fragment off the node\n"
    "       cairn node rm <id>            forget a drained or dead node\n";

static const char *str(json_t *o, const char *k) {
  const char *v = json_string_value(json_object_get(o, k));
  return v ? v : "";
}

static long long num(json_t *o, const char *k) {
  return (long long)json_integer_value(json_object_get(o, k));
}

/* One admin call; an error answer is printed and gives CLI_FAILED. */
static int call(const struct cli *cli, const char *method, const char *path,
                json_t **doc) {
  return cli_admin_request(cli, method, path, NULL, 0, doc);
}

static void print_json(json_t *doc) {
  char *text = json_dumps(doc, JSON_INDENT(2));
  puts(text ? text : "{}");
  free(text);
}

static void print_node(json_t *n) {
  printf("%-32s  %-21s  %-5s  %-8s  %14lld  %14lld  %9lld  %lld/%lld\n",
         str(n, "id"), str(n, "address"), str(n, "state"), str(n, "drain"),
         num(n, "capacity_bytes"), num(n, "used_bytes"), num(n, "fragments"),
         num(n, "dirs_writable"), num(n, "dirs_total"));
}

static void print_header(void) {
  printf("%-32s  %-21s  %-5s  %-8s  %14s  %14s  %9s  %s\n", "NODE", "ADDRESS",
         "STATE", "DRAIN", "CAPACITY", "USED", "FRAGMENTS", "DIRS OK");
}

static int node_ls(const struct cli *cli) {
  json_t *doc = NULL;
  int rc = call(cli, "GET", "nodes", &doc);
  if (rc != CLI_OK)
    return rc;
  if (cli->json) {
    print_json(doc);
  } else {
    print_header();
    json_t *nodes = json_object_get(doc, "nodes");
    for (size_t i = 0; i < json_array_size(nodes); i++)
      print_node(json_array_get(nodes, i));
  }
  json_decref(doc);
  return CLI_OK;
}

static int node_drain(const struct cli *cli, const char *id, int wait) {
  char path[128];
  snprintf(path, sizeof path, "nodes/%s/drain", id);
  json_t *doc = NULL;
  int rc = call(cli, "POST", path, &doc);
  snprintf(path, sizeof path, "nodes/%s", id);
  /* Progress: fragments left, until the node says drained. */
  while (rc == CLI_OK && wait && strcmp(str(doc, "drain"), "drained") != 0) {
    if (!cli->json)
      printf("draining %s: %lld fragment(s) left\n", id, num(doc, "fragments"));
    json_decref(doc);
    doc = NULL;
    struct timespec ts = {0, 500 * 1000 * 1000};
    nanosleep(&ts, NULL);
    rc = call(cli, "GET", path, &doc);
  }
  if (rc != CLI_OK)
    return rc;
  if (cli->json)
    print_json(doc);
  else
    printf("node %s: %s, %lld fragment(s) left\n", id, str(doc, "drain"),
           num(doc, "fragments"));
  json_decref(doc);
  return CLI_OK;
}

static int node_rm(const struct cli *cli, const char *id) {
  char path[128];
  snprintf(path, sizeof path, "nodes/%s", id);
  json_t *doc = NULL;
  int rc = call(cli, "DELETE", path, &doc);
  if (rc == CLI_OK) {
    if (cli->json)
      print_json(doc);
    else
      printf("node %s removed\n", id);
    json_decref(doc);
  }
  return rc;
}

int cmd_node(const struct cli *cli, int argc, char **argv) {
  if (argc == 1 && strcmp(argv[0], "ls") == 0)
    return node_ls(cli);
  if (argc >= 2 && strcmp(argv[0], "drain") == 0)
    return node_drain(cli, argv[1],
                      argc >= 3 && strcmp(argv[2], "--wait") == 0);
  if (argc == 2 && strcmp(argv[0], "rm") == 0)
    return node_rm(cli, argv[1]);
  fputs(usage_text, stderr);
  return CLI_USAGE;
}
