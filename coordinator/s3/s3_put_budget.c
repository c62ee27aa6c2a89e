/* s3_put_budget.c - the PUT budget shared by all object writers (see
 * s3_put_budget.h). */
#include "s3_put_budget.h"

#include "coordinator.h"
#include "s3_ops.h"

static uint64_t budget(const struct coordinator *c) {
  return (uint64_t)c->config.put_budget_bytes;
}

struct object_writer_plan s3_put_budget_join(struct coordinator *c,
                                             struct put_waiter *w,
                                             uint64_t size, int encrypt) {
  c->puts_active++;
  w->joined = 1;
  struct object_writer_plan plan = object_writer_plan_share(
      budget(c), c->puts_held, c->puts_active, size, encrypt);
  w->held = plan.held_max;
  c->puts_held += w->held;
  return plan;
}

int s3_put_budget_stripes(struct coordinator *c, struct put_waiter *w,
                          uint64_t held) {
  c->puts_held -= w->held;
  w->held = held;
  if (c->puts_waiting || (c->puts_held && c->puts_held + w->held > budget(c))) {
    w->waiting = 1;
    w->next = NULL;
    struct put_waiter **tail = &c->puts_waiting;
    while (*tail)
      tail = &(*tail)->next;
    *tail = w;
    c->puts_waiting_n++;
    c->puts_waited++;
    return 1;
  }
  c->puts_held += w->held;
  return 0;
}

/* Starts the waiting writers at the head of the queue whose stripes the
 * budget now holds (or the first one, when nothing else holds any): in
 * arrival order, so none is overtaken for good by smaller ones. */
static void admit_waiting(struct coordinator *c) {
  struct put_waiter *w;
  while ((w = c->puts_waiting) &&
         (c->puts_held == 0 || c->puts_held + w->held <= budget(c))) {
    c->puts_waiting = w->next;
    c->puts_waiting_n--;
    w->waiting = 0;
    c->puts_held += w->held;
    w->admitted(w);
  }
}

void s3_put_budget_leave(struct coordinator *c, struct put_waiter *w) {
  if (!w->joined)
    return;
  w->joined = 0;
  c->puts_active--;
  if (w->waiting) { /* never counted in puts_held */
    for (struct put_waiter **pp = &c->puts_waiting; *pp; pp = &(*pp)->next)
      if (*pp == w) {
        *pp = w->next;
        c->puts_waiting_n--;
        break;
      }
    w->waiting = 0;
  } else {
    c->puts_held -= w->held;
  }
  w->held = 0;
  admit_waiting(c);
}

int s3_put_budget_abort_waiting(struct s3_request *r, struct put_waiter *w,
                                const char *code) {
  if (!w->waiting)
    return 0;
  s3_put_budget_leave(r->c, w);
  if (code)
    s3_send_error(r, code, NULL);
  else
    s3_request_end(r);
  return 1;
}
