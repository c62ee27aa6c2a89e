/*
 * bench_xml.h - the few fields cairn-bench reads from S3 responses: the
 * error <Code>, ListObjectsV2's <KeyCount>, <IsTruncated> and
 * <NextContinuationToken>, and multipart's <UploadId>. S3's responses are
 * flat enough for a bounded substring search; a full parser would cost the
 * client time the server should get. Bodies need not be NUL-terminated.
 */
#ifndef CAIRN_BENCH_XML_H
#define CAIRN_BENCH_XML_H

#include <stddef.h>
#include <stdint.h>

/* Copies the text of the first <tag>...</tag> of body into out (cap bytes
 * with the NUL), with the five XML entities decoded. 0, CAIRN_ENOENT (no
 * such element) or CAIRN_ETOOBIG (longer than cap - 1). */
int bench_xml_text(const char *body, size_t len, const char *tag, char *out,
                   size_t cap);

/* How many times <tag> opens in body. */
size_t bench_xml_count(const char *body, size_t len, const char *tag);

#endif
