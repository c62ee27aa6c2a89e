/* policy_cache.c - parsed policies keyed by their text (policy_cache.h). */
#include "policy_cache.h"

#include "error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct policy_cache_entry {
  char *text;
  size_t len;
  enum policy_kind kind;
  struct policy *policy;
  unsigned refs; /* the table's (while in a slot) and each caller's */
};

struct policy_cache {
  struct policy_cache_entry *slot[POLICY_CACHE_SLOTS];
  unsigned long parses;
};

struct policy_cache *policy_cache_new(void) {
  return calloc(1, sizeof(struct policy_cache));
}

void policy_cache_release(struct policy_cache_entry *e) {
  if (!e || --e->refs > 0)
    return;
  policy_free(e->policy);
  free(e->text);
  free(e);
}

void policy_cache_free(struct policy_cache *c) {
  if (!c)
    return;
  for (size_t i = 0; i < POLICY_CACHE_SLOTS; i++)
    policy_cache_release(c->slot[i]);
  free(c);
}

static size_t slot_of(const char *text, size_t len, enum policy_kind kind) {
  uint32_t h = 2166136261u ^ (uint32_t)kind; /* FNV-1a */
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)text[i]) * 16777619u;
  return h % POLICY_CACHE_SLOTS;
}

int policy_cache_get(struct policy_cache *c, const char *text, size_t len,
                     enum policy_kind kind, struct policy_cache_entry **out,
                     const struct policy **policy, char *err, size_t err_len) {
  *out = NULL;
  *policy = NULL;
  size_t s = c ? slot_of(text, len, kind) : 0;
  struct policy_cache_entry *e = c ? c->slot[s] : NULL;
  if (e && e->kind == kind && e->len == len &&
      memcmp(e->text, text, len) == 0) {
    e->refs++;
    *out = e;
    *policy = e->policy;
    return 0;
  }
  e = calloc(1, sizeof *e);
  if (!e)
    return CAIRN_ENOMEM;
  if (c)
    c->parses++;
  int r = policy_parse(text, len, kind, &e->policy, err, err_len);
  if (r) {
    free(e);
    return r;
  }
  e->kind = kind;
  e->len = len;
  e->refs = 1;
  if (c && len <= POLICY_CACHE_TEXT_MAX && (e->text = malloc(len + 1))) {
    memcpy(e->text, text, len);
    e->text[len] = '\0';
    e->refs++;
    policy_cache_release(c->slot[s]);
    c->slot[s] = e;
  }
  *out = e;
  *policy = e->policy;
  return 0;
}

unsigned long policy_cache_parses(const struct policy_cache *c) {
  return c ? c->parses : 0;
}
