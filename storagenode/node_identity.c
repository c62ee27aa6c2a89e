/* node_identity.c - the node id and capacity accounting (see node.h). */
#include "node.h"

#include "crypto.h"
#include "error.h"
#include "secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static int valid_id(const char *id) {
  if (strlen(id) != 32)
    return 0;
  for (int i = 0; i < 32; i++)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
      return 0;
  return 1;
}

int node_identity_load(const char *dir, char id[33], char *err,
                       size_t err_len) {
  char path[4096], buf[64];
  snprintf(path, sizeof path, "%s/node.id", dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
      n = 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
      n--;
    buf[n] = '\0';
    if (!valid_id(buf)) {
      snprintf(err, err_len, "%s is corrupt (want 32 hex characters)", path);
      return CAIRN_ECORRUPT;
    }
    memcpy(id, buf, 33);
    return 0;
  }
  if (errno != ENOENT) {
    snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
    return cairn_err_from_errno(errno);
  }
  uint8_t raw[16];
  if (crypto_random(raw, sizeof raw) != 0)
    return CAIRN_EIO;
  crypto_hex(raw, sizeof raw, id);
  /* Durable like a secret (tmp, fsync, rename, dir fsync); readable. */
  int rc = secret_file_write(path, id, 32);
  if (rc != 0) {
    snprintf(err, err_len, "cannot write %s: %s", path, cairn_strerror(rc));
    return rc;
  }
  chmod(path, 0644);
  return 0;
}

void node_capacity(char *const *dirs, size_t n, uint64_t *capacity,
                   uint64_t *free_bytes) {
  unsigned long seen[NODE_MAX_DATA_DIRS];
  size_t seen_count = 0;
  *capacity = *free_bytes = 0;
  for (size_t i = 0; i < n; i++) {
    struct statvfs st;
    if (statvfs(dirs[i], &st) != 0)
      continue;
    int dup = 0;
    for (size_t j = 0; j < seen_count; j++)
      dup |= seen[j] == st.f_fsid;
    if (dup)
      continue; /* a shared file system counts once */
    if (seen_count < NODE_MAX_DATA_DIRS)
      seen[seen_count++] = st.f_fsid;
    *capacity += (uint64_t)st.f_blocks * st.f_frsize;
    *free_bytes += (uint64_t)st.f_bavail * st.f_frsize;
  }
}
