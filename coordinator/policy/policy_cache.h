/*
 * policy_cache.h - parsed policies keyed by their stored text.
 *
 * Parsing a policy (JSON, then every statement) costs far more than
 * comparing its text, and an identity policy is read from the store on
 * every request of its user. The cache maps the exact document (kind and
 * bytes) to its parsed form: a document that changes is a different key,
 * so an entry can never be stale - a changed policy is parsed anew on the
 * next request, whatever wrote it. Entries are evicted by slot collision
 * (a fixed table), never by age.
 *
 * Not thread-safe: one owner thread (the coordinator's loop). A document
 * that does not parse is not cached (the caller fails closed).
 */
#ifndef CAIRN_POLICY_CACHE_H
#define CAIRN_POLICY_CACHE_H

#include "policy.h"

#include <stddef.h>

#define POLICY_CACHE_SLOTS 64
#define POLICY_CACHE_TEXT_MAX (20u << 10) /* AWS: 20 KiB per policy */

struct policy_cache;
struct policy_cache_entry;

struct policy_cache *policy_cache_new(void);
/* Frees the cache; entries still referenced live until released. */
void policy_cache_free(struct policy_cache *c);

/* The parsed form of text[len] (kind) into *out, a reference the caller
 * hands back with policy_cache_release; *policy is borrowed from it. c may
 * be NULL (nothing cached: parsed for this caller alone). Errors as
 * policy_parse (err filled). */
int policy_cache_get(struct policy_cache *c, const char *text, size_t len,
                     enum policy_kind kind, struct policy_cache_entry **out,
                     const struct policy **policy, char *err, size_t err_len);
void policy_cache_release(struct policy_cache_entry *e);

/* Statistics for tests: documents parsed through c so far. */
unsigned long policy_cache_parses(const struct policy_cache *c);

#endif
