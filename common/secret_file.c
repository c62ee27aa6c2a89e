/* secret_file.c - 0600 secret files, written durably (see secret_file.h). */
#include "secret_file.h"

#include "crypto.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

long secret_file_read(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return cairn_err_from_errno(errno);
  struct stat st;
  long rc;
  if (fstat(fd, &st) != 0) {
    rc = cairn_err_from_errno(errno);
    goto done;
  }
  if (st.st_mode & 077) { /* a secret others can read is no secret */
    rc = CAIRN_EPERM;
    goto done;
  }
  ssize_t n = read(fd, buf, cap - 1);
  if (n < 0) {
    rc = cairn_err_from_errno(errno);
    goto done;
  }
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
    n--;
  buf[n] = '\0';
  rc = n;
done:
  close(fd);
  return rc;
}

int fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return cairn_err_from_errno(errno);
  int rc = fsync(fd) == 0 ? 0 : cairn_err_from_errno(errno);
  close(fd);
  return rc;
}

int secret_file_write(const char *path, const char *data, size_t len) {
  char tmp[4096], dir[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return CAIRN_EINVAL;
  snprintf(dir, sizeof dir, "%s", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return cairn_err_from_errno(errno);
  int rc = 0;
  if (fchmod(fd, 0600) != 0 || write(fd, data, len) != (ssize_t)len ||
      write(fd, "\n", 1) != 1 || fsync(fd) != 0)
    rc = cairn_err_from_errno(errno ? errno : EIO);
  if (close(fd) != 0 && rc == 0)
    rc = cairn_err_from_errno(errno);
  if (rc == 0 && rename(tmp, path) != 0)
    rc = cairn_err_from_errno(errno);
  if (rc == 0)
    rc = fsync_dir(dirname(dir));
  if (rc != 0)
    unlink(tmp);
  return rc;
}

int secret_random_text(char *out, size_t len, int upper_only) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz";
  size_t alphabet_len = upper_only ? 36 : 62;
  unsigned char raw[256];
  if (len >= sizeof raw)
    return CAIRN_EINVAL;
  if (crypto_random(raw, len) != 0)
    return CAIRN_EIO;
  /* 256 % 62 != 0 leaves a tiny bias; reject-sample to keep it uniform. */
  for (size_t i = 0; i < len; i++) {
    while (raw[i] >= 256 - 256 % alphabet_len)
      if (crypto_random(&raw[i], 1) != 0)
        return CAIRN_EIO;
    out[i] = alphabet[raw[i] % alphabet_len];
  }
  out[len] = '\0';
  return 0;
}
