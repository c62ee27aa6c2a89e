/* repair_json.c - repair counters as JSON (repair_json.h). */
#include "repair_json.h"

#include "registry.h"
#include "repairer.h"

json_t *repairer_stats_json(struct repairer *r) {
  struct repairer_stats st = {0};
  if (r)
    repairer_get_stats(r, &st);
  /* The queue is the index itself: every row is a chunk waiting. */
  return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                   "degraded_chunks", (json_int_t)st.degraded_chunks,
                   "queue_length", (json_int_t)st.degraded_chunks, "queued",
                   (json_int_t)st.queued, "repaired", (json_int_t)st.repaired,
                   "failed", (json_int_t)st.failed, "waiting",
                   (json_int_t)st.waiting, "bytes_repaired",
                   (json_int_t)st.bytes_repaired, "corrupt_reports",
                   (json_int_t)st.corrupt_reports);
}

const char *repair_drain_name(int drain_state) {
  return drain_state == CLUSTER_DRAIN_DRAINED    ? "drained"
         : drain_state == CLUSTER_DRAIN_DRAINING ? "draining"
                                                 : "none";
}
