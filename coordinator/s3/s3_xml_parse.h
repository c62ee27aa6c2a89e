/*
 * s3_xml_parse.h - reading the small XML documents S3 requests carry
 * (CreateBucketConfiguration, Delete, CompleteMultipartUpload), with expat.
 *
 * Hostile input is bounded: the caller bounds the document size; here the
 * depth, the text of one element and the element count are bounded, and a
 * DOCTYPE (entity expansion) is refused.
 */
#ifndef CAIRN_S3_XML_PARSE_H
#define CAIRN_S3_XML_PARSE_H

#include <stddef.h>

#define S3_XML_TEXT_MAX 4096
#define S3_XML_DEPTH_MAX 16
#define S3_XML_ELEMENTS_MAX 50000

/* Called at the end of every element: path is "Root/Child/Leaf" (local
 * names, namespaces dropped), text is the element's own character data.
 * Return non-zero to stop (the parse then fails with that value). */
typedef int (*s3_xml_end_cb)(const char *path, const char *text, void *arg);

/* 0 when the document is well-formed and every callback returned 0; -1 for
 * malformed or over-limit XML; else the callback's value. */
int s3_xml_parse(const char *doc, size_t len, s3_xml_end_cb cb, void *arg);

#endif
