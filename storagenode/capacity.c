/* capacity.c - capacity accounting over the data dirs (see capacity.h). */
#include "capacity.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

void node_capacity(char *const *dirs, size_t n, uint64_t *capacity,
                   uint64_t *free_bytes) {
  *capacity = *free_bytes = 0;
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    struct statvfs vfs;
    if (stat(dirs[i], &st) != 0 || statvfs(dirs[i], &vfs) != 0)
      continue;
    /* st_dev, not f_fsid: f_fsid is 0 on some file systems (tmpfs). */
    int shared = 0;
    for (size_t j = 0; j < i && !shared; j++) {
      struct stat other;
      shared = stat(dirs[j], &other) == 0 && other.st_dev == st.st_dev;
    }
    if (shared)
      continue;
    *capacity += (uint64_t)vfs.f_blocks * vfs.f_frsize;
    *free_bytes += (uint64_t)vfs.f_bavail * vfs.f_frsize;
  }
}
