/*
 * gc.c - one pass at a time: take up to GC_BATCH garbage entries, delete
 * every fragment of each on its node, and remove from the table the entries
 * whose fragments are all gone (deleted now, or already absent).
 */
#include "gc.h"

#include "error.h"
#include "log.h"
#include "meta.h"
#include "node_link.h"
#include "registry.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_NODES 256

struct gc {
  uv_loop_t *loop;
  struct meta *meta;
  struct cluster *cluster;
  struct node_link_pool *links;
  uv_timer_t timer;
  int running, stopping;
  struct meta_gc_list list;
  uint8_t *failed;  /* per item: a fragment could not be deleted */
  uint32_t pending; /* deletes in flight */
};

struct gc_delete {
  struct gc *g;
  uint32_t item;
};

static void pass_done(struct gc *g) {
  /* Shallow copies of the entries to forget; the list keeps ownership. */
  struct meta_gc_item *done = calloc(g->list.n, sizeof *done);
  uint32_t n = 0;
  for (uint32_t i = 0; done && i < g->list.n; i++)
    if (!g->failed[i])
      done[n++] = g->list.items[i];
  if (n) {
    int rc = meta_gc_done(g->meta, done, n);
    if (rc != 0)
      log_warn("gc", "cannot record deleted chunks: %s", cairn_strerror(rc));
    else
      log_debug("gc", "deleted %u chunks", n);
  }
  free(done);
  meta_gc_list_free(&g->list);
  free(g->failed);
  g->failed = NULL;
  g->running = 0;
  if (g->stopping)
    free(g);
}

static void on_deleted(int status, void *arg) {
  struct gc_delete *d = arg;
  struct gc *g = d->g;
  if (status != 0 && status != CAIRN_ENOENT)
    g->failed[d->item] = 1;
  free(d);
  if (--g->pending == 0)
    pass_done(g);
}

static void issue_delete(struct gc *g, uint32_t item, const char *addr,
                         const uint8_t id[16], uint32_t fragment) {
  struct gc_delete *d = malloc(sizeof *d);
  if (!d) {
    g->failed[item] = 1;
    return;
  }
  d->g = g;
  d->item = item;
  g->pending++;
  if (node_delete(g->links, addr, id, fragment, on_deleted, d) != 0) {
    g->pending--;
    g->failed[item] = 1;
    free(d);
  }
}

static void on_tick(uv_timer_t *t) {
  struct gc *g = t->data;
  if (g->running)
    return;
  if (meta_gc_take(g->meta, GC_BATCH, &g->list) != 0 || g->list.n == 0) {
    meta_gc_list_free(&g->list);
    return;
  }
  /* Entries are oldest first; write intents not yet due come last. */
  int64_t now = (int64_t)time(NULL) * 1000;
  while (g->list.n > 0 && g->list.items[g->list.n - 1].queued_ms > now) {
    free(g->list.items[g->list.n - 1].chunk.fragments);
    g->list.n--;
  }
  if (g->list.n == 0) {
    meta_gc_list_free(&g->list);
    return;
  }
  g->failed = calloc(g->list.n, 1);
  if (!g->failed) {
    meta_gc_list_free(&g->list);
    return;
  }
  g->running = 1;
  struct cluster_node_view views[MAX_NODES];
  size_t n_views = cluster_nodes_snapshot(g->cluster, views, MAX_NODES);
  if (n_views > MAX_NODES)
    n_views = MAX_NODES;
  g->pending = 1; /* held while issuing */
  for (uint32_t i = 0; i < g->list.n; i++) {
    const struct meta_chunk *c = &g->list.items[i].chunk;
    for (uint32_t f = 0; f < c->n_fragments; f++) {
      /* A write intent names no node: ask every node. */
      int anywhere = c->fragments[f].node_id[0] == '\0';
      for (size_t k = 0; k < n_views; k++) {
        const struct cluster_node_view *v = &views[k];
        if (!anywhere && strcmp(v->node_id, c->fragments[f].node_id) != 0)
          continue;
        if (!v->up) {
          g->failed[i] = 1; /* retried on a later pass */
          continue;
        }
        /* A copy a repair has since put back on this node is live. */
        if (meta_fragment_live(g->meta, v->node_id, c->id,
                               c->fragments[f].index))
          continue;
        issue_delete(g, i, v->data_addr, c->id, c->fragments[f].index);
      }
    }
  }
  if (--g->pending == 0)
    pass_done(g);
}

int gc_start(uv_loop_t *loop, struct meta *meta, struct cluster *cluster,
             struct node_link_pool *links, uint64_t interval_ms,
             struct gc **out) {
  struct gc *g = calloc(1, sizeof *g);
  if (!g)
    return CAIRN_ENOMEM;
  g->loop = loop;
  g->meta = meta;
  g->cluster = cluster;
  g->links = links;
  uv_timer_init(loop, &g->timer);
  g->timer.data = g;
  if (interval_ms == 0)
    interval_ms = GC_INTERVAL_MS;
  uv_timer_start(&g->timer, on_tick, interval_ms, interval_ms);
  *out = g;
  return 0;
}

static void on_timer_closed(uv_handle_t *h) {
  struct gc *g = h->data;
  if (!g->running)
    free(g);
  else
    g->stopping = 1;
}

void gc_stop(struct gc *g) {
  if (g)
    uv_close((uv_handle_t *)&g->timer, on_timer_closed);
}
