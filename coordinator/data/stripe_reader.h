/*
 * stripe_reader.h - reads one erasure-coded chunk back: asks up to k of
 * its fragments' nodes in parallel (data fragments first, so a healthy
 * read decodes nothing), moves on to another fragment when a node is down
 * or a transfer fails, and rebuilds the lost data fragments from any k
 * that arrived (erasure.h). The result is the chunk's stored bytes, whole,
 * in one buffer: range reads of EC chunks read the whole stripe, which
 * bounds memory by the chunk size plus its parity.
 *
 * Lifecycle: stripe_read_start -> done(status) exactly once (never inside
 * the start call; if start returns an error, done never fires) ->
 * stripe_read_free. stripe_read_cancel stops it; done
 * then never fires.
 */
#ifndef CAIRN_STRIPE_READER_H
#define CAIRN_STRIPE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "meta.h"

struct cluster;
struct node_link_pool;
struct stripe_read;

typedef void (*stripe_read_done_cb)(struct stripe_read *s, int status,
                                    void *arg);

/* c is borrowed (must outlive the read); stored_len is the chunk's stored
 * byte count (with tags when sealed). CAIRN_EINVAL for a non-EC chunk. */
int stripe_read_start(struct cluster *cluster, struct node_link_pool *links,
                      const struct meta_chunk *c, uint64_t stored_len,
                      stripe_read_done_cb done, void *arg,
                      struct stripe_read **out);
/* After done(0): the chunk's stored bytes, valid until stripe_read_free. */
const uint8_t *stripe_read_bytes(const struct stripe_read *s);
void stripe_read_cancel(struct stripe_read *s);
void stripe_read_free(struct stripe_read *s);

#endif
