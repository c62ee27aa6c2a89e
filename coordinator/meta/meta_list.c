/*
 * meta_list.c - ListObjectsV2 over the latest-pointer table 'L'.
 *
 * A page reads only what it returns: the scan starts at
 * L|1|bucket\0|max(prefix, start_after), stops at the successor of
 * L|1|bucket\0|prefix (iterate_upper_bound), and when a key rolls up into a
 * common prefix CP (prefix + ... + delimiter) the iterator jumps with ONE
 * seek to the successor of L|1|bucket\0|CP, the smallest key that does not
 * start with CP. So a page costs O(max_keys) seeks and steps (plus delete
 * markers, which only exist with versioning), whatever the bucket size.
 *
 * Markers: a common prefix CP is "at or before" start_after when
 * CP <= start_after in byte order; such a CP is skipped whole. Passing the
 * last returned CP as the next start_after thus resumes after all its keys.
 */
#include "meta_internal.h"

#include "codec.h"
#include "error.h"

#include <stdio.h>
#include <string.h>

struct summary_buf {
  struct meta_object_summary s;
  bool delete_marker;
};

static int summary_decode(const uint8_t *v, size_t len, struct summary_buf *b) {
  struct codec_in in;
  codec_in_init(&in, v, len);
  if (codec_get_u8(&in) != 1)
    return CAIRN_ECORRUPT;
  (void)codec_get_u64(&in); /* seq */
  b->s.version_id = codec_get_str(&in, NULL);
  b->delete_marker = codec_get_u8(&in) != 0;
  b->s.size = codec_get_u64(&in);
  b->s.etag = codec_get_str(&in, NULL);
  b->s.last_modified_ms = (int64_t)codec_get_u64(&in);
  return in.err;
}

int meta_list_objects(struct meta *m, const char *bucket,
                      const struct meta_list_params *p, meta_list_cb cb,
                      void *arg, struct meta_list_result *res) {
  memset(res, 0, sizeof *res);
  const char *prefix = p->prefix ? p->prefix : "";
  const char *delim = p->delimiter ? p->delimiter : "";
  const char *after = p->start_after ? p->start_after : "";
  size_t plen = strlen(prefix), dlen = strlen(delim);
  if (valid_bucket(bucket) || plen > META_OBJECT_KEY_MAX ||
      strlen(after) > META_OBJECT_KEY_MAX || dlen > META_OBJECT_KEY_MAX)
    return CAIRN_EINVAL;

  struct meta_key base, lo, hi;
  key_bucket_prefix(&base, TBL_LATEST, bucket);
  hi = base;
  key_str(&hi, prefix);
  if (!key_successor(&hi))
    return CAIRN_EINVAL; /* cannot happen: the table byte is not 0xFF */
  lo = base;
  key_str(&lo, strcmp(after, prefix) > 0 ? after : prefix);

  struct meta_iter it;
  int r = iter_open(m, NULL, &hi, &it);
  if (r)
    return r;
  char key[META_OBJECT_KEY_MAX + 1];
  iter_seek(&it, &lo);
  while (iter_valid(&it)) {
    size_t kl, vl;
    const uint8_t *kb = iter_key(&it, &kl);
    res->scanned++;
    if (kl < base.len || kl - base.len > META_OBJECT_KEY_MAX) {
      r = CAIRN_ECORRUPT;
      break;
    }
    size_t n = kl - base.len;
    memcpy(key, kb + base.len, n);
    key[n] = 0;
    if (strcmp(key, after) <= 0) { /* start_after itself */
      iter_next(&it);
      continue;
    }
    /* Roll up into a common prefix? */
    const char *d = dlen ? strstr(key + plen, delim) : NULL;
    if (d) {
      size_t cplen = (size_t)(d - key) + dlen;
      key[cplen] = 0;
      if (strcmp(key, after) > 0) {
        if (res->count == p->max_keys) {
          res->truncated = true;
          break;
        }
        r = cb(NULL, key, arg);
        if (r)
          break;
        res->count++;
        memcpy(res->next_marker, key, cplen + 1);
      }
      struct meta_key skip = base;
      key_raw(&skip, key, cplen);
      if (!key_successor(&skip))
        break;
      iter_seek(&it, &skip);
      continue;
    }
    struct summary_buf sb;
    const uint8_t *vb = iter_value(&it, &vl);
    r = summary_decode(vb, vl, &sb);
    if (r)
      break;
    if (!sb.delete_marker) {
      if (res->count == p->max_keys) {
        res->truncated = true;
        break;
      }
      sb.s.key = key;
      r = cb(&sb.s, NULL, arg);
      if (r)
        break;
      res->count++;
      memcpy(res->next_marker, key, n + 1);
    }
    iter_next(&it);
  }
  if (!r)
    r = iter_status(&it);
  iter_close(&it);
  if (r)
    res->truncated = false;
  return r;
}
