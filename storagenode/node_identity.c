/* node_identity.c - data dirs and the persistent node id (see the header). */
#include "node_identity.h"

#include "crypto.h"
#include "error.h"
#include "secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int node_id_valid(const char *id) {
  size_t i;
  for (i = 0; id[i]; i++)
    if (i >= NODE_ID_LEN ||
        !((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
      return 0;
  return i == NODE_ID_LEN;
}

/* Creates dir if missing (not its parents) and proves it writable: access()
 * would say yes to root on a read-only mount or a chmod 000 dir. */
static int prepare_one(const char *dir, char *err, size_t err_len) {
  char probe[4096];
  struct stat st;
  if (stat(dir, &st) != 0) {
    if (errno != ENOENT || mkdir(dir, 0700) != 0) {
      int e = errno;
      snprintf(err, err_len, "data dir %s cannot be created: %s", dir,
               strerror(e));
      return cairn_err_from_errno(e);
    }
  } else if (!S_ISDIR(st.st_mode)) {
    snprintf(err, err_len, "data dir %s is not a directory", dir);
    return CAIRN_EINVAL;
  }
  int n = snprintf(probe, sizeof probe, "%s/.cairn-write-probe", dir);
  if (n < 0 || (size_t)n >= sizeof probe) {
    snprintf(err, err_len, "data dir path too long: %.64s...", dir);
    return CAIRN_EINVAL;
  }
  int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, "x", 1) != 1) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    unlink(probe);
    snprintf(err, err_len, "data dir %s is not writable: %s", dir, strerror(e));
    return cairn_err_from_errno(e);
  }
  close(fd);
  unlink(probe);
  return 0;
}

int node_data_dirs_prepare(char *list, char *dirs[NODE_MAX_DATA_DIRS],
                           size_t *count, char *err, size_t err_len) {
  char *save = NULL;
  int rc;
  *count = 0;
  for (char *tok = strtok_r(list, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ')
      tok++;
    size_t len = strlen(tok);
    while (len > 0 && tok[len - 1] == ' ')
      tok[--len] = '\0';
    while (len > 1 && tok[len - 1] == '/')
      tok[--len] = '\0';
    if (len == 0)
      continue;
    if (*count == NODE_MAX_DATA_DIRS) {
      snprintf(err, err_len, "at most %d data dirs", NODE_MAX_DATA_DIRS);
      return CAIRN_EINVAL;
    }
    rc = prepare_one(tok, err, err_len);
    if (rc != 0)
      return rc;
    dirs[(*count)++] = tok;
  }
  if (*count == 0) {
    snprintf(err, err_len, "no data dir given (--data-dir)");
    return CAIRN_EINVAL;
  }
  return 0;
}

static int read_id(const char *path, char id[NODE_ID_LEN + 1], char *err,
                   size_t err_len) {
  char buf[NODE_ID_LEN + 8];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int open_errno = errno;
    if (open_errno != ENOENT)
      snprintf(err, err_len, "cannot open %s: %s", path, strerror(open_errno));
    return cairn_err_from_errno(open_errno);
  }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  int e = errno;
  close(fd);
  if (n < 0) {
    snprintf(err, err_len, "cannot read %s: %s", path, strerror(e));
    return cairn_err_from_errno(e);
  }
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
    n--;
  buf[n] = '\0';
  if (!node_id_valid(buf)) {
    snprintf(err, err_len,
             "%s is corrupt (want 32 lower-case hex "
             "characters); restore it or remove it to make a new node",
             path);
    return CAIRN_ECORRUPT;
  }
  memcpy(id, buf, NODE_ID_LEN + 1);
  return 0;
}

static int write_id(const char *dir, const char *path, const char *id,
                    char *err, size_t err_len) {
  char tmp[4200];
  int rc = 0;
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc = cairn_err_from_errno(errno);
    goto fail;
  }
  char line[NODE_ID_LEN + 1];
  memcpy(line, id, NODE_ID_LEN);
  line[NODE_ID_LEN] = '\n';
  if (write(fd, line, sizeof line) != (ssize_t)sizeof line || fsync(fd) != 0)
    rc = cairn_err_from_errno(errno ? errno : EIO);
  if (close(fd) != 0 && rc == 0)
    rc = cairn_err_from_errno(errno);
  if (rc != 0)
    goto fail;
  if (rename(tmp, path) != 0) {
    rc = cairn_err_from_errno(errno);
    goto fail;
  }
  rc = fsync_dir(dir);
  if (rc != 0)
    goto fail;
  return 0;
fail:
  unlink(tmp);
  snprintf(err, err_len, "cannot write %s: %s", path, cairn_strerror(rc));
  return rc;
}

int node_identity_load(const char *dir, char id[NODE_ID_LEN + 1], char *err,
                       size_t err_len) {
  char path[4096];
  uint8_t raw[NODE_ID_LEN / 2];
  int n = snprintf(path, sizeof path, "%s/" NODE_ID_FILE, dir);
  if (n < 0 || (size_t)n >= sizeof path) {
    snprintf(err, err_len, "data dir path too long");
    return CAIRN_EINVAL;
  }
  int rc = read_id(path, id, err, err_len);
  if (rc != CAIRN_ENOENT)
    return rc; /* found (0) or unusable (err says why) */
  if (crypto_random(raw, sizeof raw) != 0) {
    snprintf(err, err_len, "no randomness for a node id");
    return CAIRN_EIO;
  }
  crypto_hex(raw, sizeof raw, id);
  return write_id(dir, path, id, err, err_len);
}
