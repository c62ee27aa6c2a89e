/* error.c - names and messages of the CAIRN_E* codes (see error.h). */
#include "error.h"

#include <errno.h>

const char *cairn_err_name(int err) {
  switch (err) {
  case CAIRN_OK: return "CAIRN_OK";
#define XX(name, value, msg)                                                   \
  case CAIRN_E##name: return "CAIRN_E" #name;
    CAIRN_ERR_MAP(XX)
#undef XX
  }
  return "CAIRN_EUNKNOWN";
}

const char *cairn_strerror(int err) {
  switch (err) {
  case CAIRN_OK: return "success";
#define XX(name, value, msg)                                                   \
  case CAIRN_E##name: return msg;
    CAIRN_ERR_MAP(XX)
#undef XX
  }
  return "unknown error";
}

int cairn_err_from_errno(int errnum) {
  if (errnum < 0) /* libuv codes are negated errno values on Unix */
    errnum = -errnum;
  switch (errnum) {
  case 0: return CAIRN_OK;
  case ENOMEM: return CAIRN_ENOMEM;
  case EINVAL: return CAIRN_EINVAL;
  case ENOENT: return CAIRN_ENOENT;
  case EEXIST: return CAIRN_EEXIST;
  case ENOSPC:
  case EDQUOT: return CAIRN_ENOSPC;
  case EFBIG:
  case E2BIG: return CAIRN_ETOOBIG;
  case EACCES:
  case EPERM:
  case EROFS: return CAIRN_EPERM;
  case ETIMEDOUT: return CAIRN_ETIMEDOUT;
  case EPIPE:
  case ECONNRESET:
  case ECONNREFUSED:
  case ENOTCONN: return CAIRN_ECLOSED;
  case EBUSY:
  case EAGAIN: return CAIRN_EBUSY;
  case EADDRINUSE: return CAIRN_EADDRINUSE;
  case ECANCELED: return CAIRN_ECANCELED;
  case ENOTSUP: return CAIRN_ENOTSUP;
  default: return CAIRN_EIO;
  }
}
