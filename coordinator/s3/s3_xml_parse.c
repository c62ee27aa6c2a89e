/* s3_xml_parse.c - bounded, DOCTYPE-free XML reading on expat. */
#include "s3_xml_parse.h"

#include <expat.h>
#include <string.h>

struct parse_state {
  XML_Parser parser;
  char path[S3_XML_DEPTH_MAX * 64];
  size_t path_len[S3_XML_DEPTH_MAX + 1];
  int depth;
  char text[S3_XML_TEXT_MAX + 1];
  size_t text_len;
  long elements;
  int result;
  s3_xml_end_cb cb;
  void *arg;
};

static void fail(struct parse_state *s, int result) {
  if (s->result == 0)
    s->result = result;
  XML_StopParser(s->parser, XML_FALSE);
}

static void on_start(void *data, const XML_Char *name, const XML_Char **atts) {
  struct parse_state *s = data;
  (void)atts;
  const char *local = strrchr(name, ' '); /* "ns local" with separator ' ' */
  local = local ? local + 1 : name;
  size_t n = strlen(local);
  size_t at = s->path_len[s->depth];
  if (++s->elements > S3_XML_ELEMENTS_MAX || s->depth >= S3_XML_DEPTH_MAX ||
      at + n + 2 > sizeof s->path) {
    fail(s, -1);
    return;
  }
  if (at)
    s->path[at++] = '/';
  memcpy(s->path + at, local, n + 1);
  s->path_len[++s->depth] = at + n;
  s->text_len = 0;
}

static void on_end(void *data, const XML_Char *name) {
  struct parse_state *s = data;
  (void)name;
  s->text[s->text_len] = '\0';
  int rc = s->cb(s->path, s->text, s->arg);
  if (rc) {
    fail(s, rc);
    return;
  }
  s->depth--;
  s->path[s->path_len[s->depth]] = '\0';
  s->text_len = 0;
}

static void on_text(void *data, const XML_Char *text, int len) {
  struct parse_state *s = data;
  if (s->text_len + (size_t)len > S3_XML_TEXT_MAX) {
    fail(s, -1);
    return;
  }
  memcpy(s->text + s->text_len, text, (size_t)len);
  s->text_len += (size_t)len;
}

static void on_doctype(void *data, const XML_Char *name, const XML_Char *sysid,
                       const XML_Char *pubid, int has_internal) {
  (void)name;
  (void)sysid;
  (void)pubid;
  (void)has_internal;
  fail(data, -1); /* no DTDs: no entity expansion */
}

int s3_xml_parse(const char *doc, size_t len, s3_xml_end_cb cb, void *arg) {
  struct parse_state s;
  memset(&s, 0, sizeof s);
  s.cb = cb;
  s.arg = arg;
  s.parser = XML_ParserCreateNS(NULL, ' ');
  if (!s.parser)
    return -1;
  XML_SetUserData(s.parser, &s);
  XML_SetElementHandler(s.parser, on_start, on_end);
  XML_SetCharacterDataHandler(s.parser, on_text);
  XML_SetStartDoctypeDeclHandler(s.parser, on_doctype);
  XML_SetParamEntityParsing(s.parser, XML_PARAM_ENTITY_PARSING_NEVER);
  enum XML_Status st = XML_Parse(s.parser, doc, (int)len, XML_TRUE);
  XML_ParserFree(s.parser);
  if (s.result)
    return s.result;
  return st == XML_STATUS_OK ? 0 : -1;
}
