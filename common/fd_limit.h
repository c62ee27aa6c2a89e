/*
 * fd_limit.h - the open-files limit a daemon runs with. Each S3 connection
 * and each coordinator-node link is a descriptor on both ends, and many
 * systems start a process with a soft limit of 1024 and a far higher hard
 * one (systemd: 1024 / 524288): a daemon raises its soft limit, as nginx
 * and MinIO do, rather than refuse connections at a thousand.
 */
#ifndef CAIRN_FD_LIMIT_H
#define CAIRN_FD_LIMIT_H

#include <stdint.h>

/* Raises the soft RLIMIT_NOFILE to min(want, hard). Returns the soft
 * limit now in force (0 when it cannot be read). */
uint64_t fd_limit_raise(uint64_t want);

#endif
