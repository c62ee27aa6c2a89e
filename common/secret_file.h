/*
 * secret_file.h - small secrets kept in files with 0600 permissions: the
 * cluster secret, the root credentials, later the master key.
 *
 * A secret file is written to a temporary file, fsync'd, renamed over the
 * target and the directory fsync'd, so a crash never leaves a half secret.
 */
#ifndef CAIRN_SECRET_FILE_H
#define CAIRN_SECRET_FILE_H

#include <stddef.h>

/* Reads at most cap-1 bytes, strips one trailing newline, NUL-terminates.
 * Returns the length, or a negative CAIRN_E* (CAIRN_ENOENT if missing,
 * CAIRN_EPERM if the file is readable by group or others). */
long secret_file_read(const char *path, char *buf, size_t cap);

/* Creates or replaces path with data (mode 0600), durably. 0 or CAIRN_E*. */
int secret_file_write(const char *path, const char *data, size_t len);

/* Fills out with len random characters from [A-Za-z0-9] (len+1 bytes). */
int secret_random_text(char *out, size_t len, int upper_only);

/* fsyncs a directory so a rename or create in it is durable. */
int fsync_dir(const char *dir);

#endif
