/*
 * profile.h - named credential profiles for `cairn`, in a file like the
 * AWS CLI's:
 *
 *   [default]
 *   endpoint = http://127.0.0.1:9000
 *   access_key = AKIA...
 *   secret_key = ...
 *   region = us-east-1
 *
 * The file is $CAIRN_CREDENTIALS_FILE, else ~/.cairn/credentials; the
 * profile is --profile NAME, else $CAIRN_PROFILE, else "default". Flags
 * win over environment variables, which win over the profile (as with the
 * AWS CLI). A file holding secrets that others may read is refused.
 */
#ifndef CAIRN_CLI_PROFILE_H
#define CAIRN_CLI_PROFILE_H

#include <stddef.h>

#define PROFILE_VALUE_MAX 512

struct profile {
  char endpoint[PROFILE_VALUE_MAX], access_key[PROFILE_VALUE_MAX],
      secret_key[PROFILE_VALUE_MAX], region[PROFILE_VALUE_MAX];
};

/* Reads profile `name` of the file at path into *out (fields absent from
 * it stay ""). 0 when found; 1 when the file or the profile is absent;
 * -1 with a message in err (unreadable, readable by others, malformed). */
int profile_load(const char *path, const char *name, struct profile *out,
                 char *err, size_t err_len);

#endif
