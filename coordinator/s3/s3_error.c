/*
 * s3_error.c - the S3 error table, XML error documents, and the one mapping
 * from CAIRN_E* codes to S3 codes (see s3_error.h).
 */
#include "s3_error.h"

#include "error.h"
#include "xml_writer.h"

#include <string.h>

struct s3_error_row {
  const char *name;
  int status;
  const char *message;
};

static const struct s3_error_row error_rows[S3_ERROR_COUNT] = {
    [S3_OK] = {"OK", 200, "OK"},
#define XX(code, status, message) [S3_ERR_##code] = {#code, status, message},
    S3_ERROR_MAP(XX)
#undef XX
};

static const struct s3_error_row *row_of(enum s3_error_code code) {
  if ((int)code < 0 || code >= S3_ERROR_COUNT)
    code = S3_ERR_InternalError;
  return &error_rows[code];
}

int s3_error_status(enum s3_error_code code) {
  return row_of(code)->status;
}

const char *s3_error_name(enum s3_error_code code) {
  return row_of(code)->name;
}

const char *s3_error_message(enum s3_error_code code) {
  return row_of(code)->message;
}

enum s3_error_code s3_error_from_name(const char *name) {
  for (int i = S3_OK + 1; i < S3_ERROR_COUNT; i++)
    if (strcmp(error_rows[i].name, name) == 0)
      return (enum s3_error_code)i;
  return S3_OK;
}

/*
 * CAIRN_ENOSPC: AWS has no "disk full" code. InternalError would tell the
 * operator a bug happened and the client nothing; ServiceUnavailable (503)
 * says what is true, "the service cannot take this now", makes every SDK
 * back off and retry (space comes back when garbage collection runs or
 * nodes join), and keeps the 5xx out of the bucket owner's bill, as AWS
 * does. Its default message ("reduce your request rate") is wrong for this
 * case, so s3_error_message_for_cairn() supplies one.
 */
enum s3_error_code s3_error_from_cairn(int cairn_err) {
  switch (cairn_err) {
  case CAIRN_OK: return S3_OK;
  case CAIRN_ENOSPC:
  case CAIRN_EUNAVAIL:
  case CAIRN_EBUSY:
  case CAIRN_ENOMEM:  /* load, not a fault of the request: back off */
  case CAIRN_ECLOSED: /* a node link dropped mid-request */
    return S3_ERR_ServiceUnavailable;
  case CAIRN_ETIMEDOUT: return S3_ERR_RequestTimeout;
  case CAIRN_ETOOBIG: return S3_ERR_EntityTooLarge;
  case CAIRN_EINVAL: return S3_ERR_InvalidArgument;
  case CAIRN_EAUTH:
  case CAIRN_EPERM: return S3_ERR_AccessDenied;
  case CAIRN_ENOTSUP: return S3_ERR_NotImplemented;
  case CAIRN_ERANGE: return S3_ERR_InvalidRange;
  case CAIRN_ECORRUPT: /* every fragment set failed its checksums */
  case CAIRN_EIO:
  case CAIRN_EDB:
  case CAIRN_EPROTO:
  case CAIRN_ECANCELED:
  case CAIRN_ENOENT: /* context-dependent: handlers map it (see header) */
  case CAIRN_EEXIST:
  default: return S3_ERR_InternalError;
  }
}

const char *s3_error_message_for_cairn(int cairn_err) {
  switch (cairn_err) {
  case CAIRN_ENOSPC:
    return "The cluster does not have enough free space to store this data. "
           "Please try again later.";
  case CAIRN_EUNAVAIL:
    return "Not enough storage nodes are available to serve this request. "
           "Please try again later.";
  case CAIRN_ECLOSED:
    return "A storage node became unreachable during the request. Please "
           "try again.";
  case CAIRN_ENOMEM:
  case CAIRN_EBUSY:
    return "The service is busy. Please reduce your request rate.";
  default: return NULL;
  }
}

long s3_error_render_xml(enum s3_error_code code, const char *message,
                         const char *resource, const char *request_id,
                         const struct s3_error_field *extra, size_t n_extra,
                         char *buf, size_t cap) {
  struct xml_writer w;
  xml_writer_init_fixed(&w, buf, cap);
  if (!message || !message[0])
    message = s3_error_message(code);
  xml_writer_prolog(&w);
  xml_writer_open(&w, "Error");
  xml_writer_element(&w, "Code", s3_error_name(code));
  xml_writer_element(&w, "Message", message);
  for (size_t i = 0; i < n_extra; i++)
    if (extra[i].name && extra[i].value)
      xml_writer_element(&w, extra[i].name, extra[i].value);
  xml_writer_element(&w, "Resource", resource);
  xml_writer_element(&w, "RequestId", request_id);
  xml_writer_close(&w, "Error");
  if (xml_writer_error(&w))
    return CAIRN_ETOOBIG;
  return (long)w.len;
}
