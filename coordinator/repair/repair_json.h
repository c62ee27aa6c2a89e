/*
 * repair_json.h - the repairer's counters and a node's drain state as JSON,
 * shared by /healthz and the admin API so both say the same thing.
 */
#ifndef CAIRN_REPAIR_JSON_H
#define CAIRN_REPAIR_JSON_H

#include <jansson.h>

struct repairer;

/* {"degraded_chunks", "queue_length", "queued", "repaired", "failed",
 *  "waiting", "bytes_repaired", "corrupt_reports"}; r may be NULL (zeros). */
json_t *repairer_stats_json(struct repairer *r);
/* "none", "draining" or "drained". */
const char *repair_drain_name(int drain_state);

#endif
