/*
 * error.h - Cairn's one error space.
 *
 * Every function that can fail returns an int: 0 on success, a negative
 * CAIRN_E* code otherwise. The codes, their names and messages come from one
 * X-macro table (as libuv's UV_ERRNO_MAP); never renumber a code. errno is
 * converted at the syscall boundary with cairn_err_from_errno() and never
 * travels further. Mapping to S3 error codes happens in exactly one place
 * (coordinator/s3/s3_error.c).
 */
#ifndef CAIRN_ERROR_H
#define CAIRN_ERROR_H

#define CAIRN_ERR_MAP(XX)                                                      \
  XX(NOMEM, -1, "out of memory")                                               \
  XX(INVAL, -2, "invalid argument")                                            \
  XX(IO, -3, "input/output error")                                             \
  XX(NOENT, -4, "no such entry")                                               \
  XX(EXIST, -5, "already exists")                                              \
  XX(NOSPC, -6, "no space left on device")                                     \
  XX(TOOBIG, -7, "too large")                                                  \
  XX(PROTO, -8, "protocol error")                                              \
  XX(AUTH, -9, "authentication failed")                                        \
  XX(TIMEDOUT, -10, "timed out")                                               \
  XX(CLOSED, -11, "connection closed")                                         \
  XX(UNAVAIL, -12, "not enough nodes available")                               \
  XX(CORRUPT, -13, "data corrupted (checksum mismatch)")                       \
  XX(DB, -14, "metadata store error")                                          \
  XX(PERM, -15, "permission denied")                                           \
  XX(BUSY, -16, "resource busy")                                               \
  XX(CANCELED, -17, "operation canceled")                                      \
  XX(ADDRINUSE, -18, "address already in use")                                 \
  XX(NOTSUP, -19, "not supported")                                             \
  XX(RANGE, -20, "out of range")

enum cairn_error {
  CAIRN_OK = 0,
#define XX(name, value, msg) CAIRN_E##name = (value),
  CAIRN_ERR_MAP(XX)
#undef XX
};

/* Short name ("CAIRN_ENOENT") and message; never NULL, never empty. */
const char *cairn_err_name(int err);
const char *cairn_strerror(int err);

/* Converts a positive errno value (or a negative libuv code) to CAIRN_E*. */
int cairn_err_from_errno(int errnum);

#endif
