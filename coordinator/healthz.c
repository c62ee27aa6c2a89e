/* healthz.c - the /healthz JSON document (see healthz.h). */
#include "healthz.h"

#include "coordinator.h"
#include "registry.h"
#include "repair_json.h"

#include <jansson.h>
#include <stdlib.h>
#include <time.h>

static json_t *iso_time(int64_t ms) {
  if (ms <= 0)
    return json_null();
  char buf[96]; /* ample for any year gmtime_r can give */
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, (int)(ms % 1000));
  return json_string(buf);
}

char *healthz_render(const struct coordinator *c) {
  size_t total = cluster_nodes_snapshot(c->cluster, NULL, 0);
  struct cluster_node_view *views = total ? calloc(total, sizeof *views) : NULL;
  if (total && !views)
    return NULL;
  size_t count = cluster_nodes_snapshot(c->cluster, views, total);
  if (count > total)
    count = total;

  json_t *nodes = json_array();
  size_t up = 0;
  int64_t now = coord_now_ms();
  for (size_t i = 0; i < count; i++) {
    const struct cluster_node_view *v = &views[i];
    up += v->up != 0;
    json_array_append_new(
        nodes,
        json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:o, s:I, s:I, s:I}", "id",
                  v->node_id, "drain", repair_drain_name(v->drain_state),
                  "dirs_total", (json_int_t)v->dirs_total, "dirs_writable",
                  (json_int_t)v->dirs_writable, "address", v->data_addr,
                  "state", v->up ? "up" : "down", "last_heartbeat",
                  iso_time(v->last_heartbeat_ms), "last_heartbeat_age_ms",
                  (json_int_t)(v->last_heartbeat_ms ? now - v->last_heartbeat_ms
                                                    : -1),
                  "capacity_bytes", (json_int_t)v->capacity_bytes, "free_bytes",
                  (json_int_t)v->free_bytes));
  }
  uint64_t capacity, free_bytes;
  cluster_capacity_totals(views, count, &capacity, &free_bytes);
  free(views);
  /* The PUT budget: bytes the running uploads hold, erasure-coded uploads
   * waiting for it now and since start. */
  json_t *puts =
      json_pack("{s:I, s:I, s:I}", "held_bytes", (json_int_t)c->puts_held,
                "waiting", (json_int_t)c->puts_waiting_n, "waited_total",
                (json_int_t)c->puts_waited);
  json_t *doc = json_pack(
      "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "status", "ok",
      "version", CAIRN_VERSION, "uptime_seconds",
      (json_int_t)((now - c->started_ms) / 1000), "nodes_up", (json_int_t)up,
      "nodes_total", (json_int_t)count, "capacity_bytes", (json_int_t)capacity,
      "free_bytes", (json_int_t)free_bytes, "nodes", nodes, "repair",
      repairer_stats_json(c->repairer), "puts", puts);
  char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
  json_decref(doc);
  return text;
}
