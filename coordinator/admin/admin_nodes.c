/* admin_nodes.c - the cluster routes of ADMIN_ROUTE_MAP: node listing,
 * drain, removal and the cluster's redundancy state. The drain itself is
 * the repairer's work (coordinator/repair); these handlers start it and
 * report its progress (fragments left on the node). */
#include "admin_internal.h"

#include "coordinator.h"
#include "error.h"
#include "registry.h"
#include "repair_json.h"
#include "repairer.h"

#include <stdlib.h>
#include <string.h>

static const char *node_state(struct admin_request *a,
                              const struct cluster_node_view *v) {
  if (v->up)
    return "up";
  return repairer_node_dead(a->c->repairer, v) ? "dead" : "down";
}

static json_t *node_json(struct admin_request *a,
                         const struct cluster_node_view *v) {
  uint64_t fragments = 0;
  meta_fragment_count_node(a->c->meta, v->node_id, &fragments);
  uint64_t used =
      v->capacity_bytes > v->free_bytes ? v->capacity_bytes - v->free_bytes : 0;
  return json_pack(
      "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "id", v->node_id,
      "address", v->data_addr, "state", node_state(a, v), "drain",
      repair_drain_name(v->drain_state), "capacity_bytes",
      (json_int_t)v->capacity_bytes, "used_bytes", (json_int_t)used,
      "free_bytes", (json_int_t)v->free_bytes, "fragments",
      (json_int_t)fragments, "dirs_total", (json_int_t)v->dirs_total,
      "dirs_writable", (json_int_t)v->dirs_writable);
}

/* The node table, malloc'd (*n entries); NULL when out of memory. */
static struct cluster_node_view *snapshot(struct admin_request *a, size_t *n) {
  size_t total = cluster_nodes_snapshot(a->c->cluster, NULL, 0);
  struct cluster_node_view *views = calloc(total ? total : 1, sizeof *views);
  if (!views)
    return NULL;
  *n = cluster_nodes_snapshot(a->c->cluster, views, total);
  if (*n > total)
    *n = total;
  return views;
}

/* The node of the route's {node}; answers 404 (and returns 0) if none. */
static int find_node(struct admin_request *a, struct cluster_node_view *v) {
  if (cluster_node_find(a->c->cluster, a->node, v) == 0)
    return 1;
  admin_send_error(a, 404, "NoSuchNode", "No node has this id.");
  return 0;
}

void admin_list_nodes(struct admin_request *a) {
  size_t n = 0;
  struct cluster_node_view *views = snapshot(a, &n);
  if (!views) {
    admin_send_cairn_error(a, CAIRN_ENOMEM, NULL);
    return;
  }
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(list, node_json(a, &views[i]));
  free(views);
  admin_send_json(a, 200, json_pack("{s:o}", "nodes", list));
}

void admin_get_node(struct admin_request *a) {
  struct cluster_node_view v;
  if (!find_node(a, &v))
    return;
  admin_send_json(a, 200, node_json(a, &v));
}

void admin_drain_node(struct admin_request *a) {
  struct cluster_node_view v;
  if (!find_node(a, &v))
    return;
  if (v.drain_state == CLUSTER_DRAIN_NONE) {
    int rc = repairer_drain(a->c->repairer, a->node);
    if (rc != 0) {
      admin_send_cairn_error(a, rc, NULL);
      return;
    }
    cluster_node_find(a->c->cluster, a->node, &v);
  }
  admin_send_json(a, 202, node_json(a, &v));
}

void admin_remove_node(struct admin_request *a) {
  struct cluster_node_view v;
  if (!find_node(a, &v))
    return;
  if (v.drain_state != CLUSTER_DRAIN_DRAINED &&
      !repairer_node_dead(a->c->repairer, &v)) {
    admin_send_error(a, 409, "NodeInUse",
                     v.drain_state == CLUSTER_DRAIN_DRAINING
                         ? "The node is still draining; remove it once it "
                           "is drained."
                         : "The node may hold data: drain it first (or it "
                           "must be down past node-dead-after-ms).");
    return;
  }
  int rc = cluster_node_remove(a->c->cluster, a->node);
  if (rc != 0)
    admin_send_cairn_error(a, rc, NULL);
  else
    admin_send_json(a, 200, json_pack("{s:b}", "ok", 1));
}

void admin_cluster_status(struct admin_request *a) {
  size_t n = 0;
  struct cluster_node_view *views = snapshot(a, &n);
  if (!views) {
    admin_send_cairn_error(a, CAIRN_ENOMEM, NULL);
    return;
  }
  uint64_t capacity, free_bytes, up = 0;
  for (size_t i = 0; i < n; i++)
    up += views[i].up ? 1 : 0;
  cluster_capacity_totals(views, n, &capacity, &free_bytes);
  free(views);
  json_t *repair = repairer_stats_json(a->c->repairer);
  json_int_t degraded =
      json_integer_value(json_object_get(repair, "degraded_chunks"));
  admin_send_json(a, 200,
                  json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:o}",
                            "nodes_total", (json_int_t)n, "nodes_up",
                            (json_int_t)up, "capacity_bytes",
                            (json_int_t)capacity, "used_bytes",
                            (json_int_t)(capacity - free_bytes), "free_bytes",
                            (json_int_t)free_bytes, "redundancy",
                            degraded ? "degraded" : "full", "repair", repair));
}
