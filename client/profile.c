/* profile.c - the credentials file of `cairn` (see profile.h). */
#include "profile.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static char *trim(char *s) {
  while (isspace((unsigned char)*s))
    s++;
  char *end = s + strlen(s);
  while (end > s && isspace((unsigned char)end[-1]))
    *--end = '\0';
  return s;
}

/* The field of out that key names, or NULL for a key we do not know. */
static char *field(struct profile *out, const char *key) {
  if (strcmp(key, "endpoint") == 0)
    return out->endpoint;
  if (strcmp(key, "access_key") == 0 || strcmp(key, "aws_access_key_id") == 0)
    return out->access_key;
  if (strcmp(key, "secret_key") == 0 ||
      strcmp(key, "aws_secret_access_key") == 0)
    return out->secret_key;
  if (strcmp(key, "region") == 0)
    return out->region;
  return NULL;
}

int profile_load(const char *path, const char *name, struct profile *out,
                 char *err, size_t err_len) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "r");
  if (!f) {
    if (errno == ENOENT)
      return 1;
    snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
    fclose(f);
    snprintf(err, err_len,
             "%s holds secrets and others may read it: chmod 600 %s", path,
             path);
    return -1;
  }
  char line[4096];
  int in_profile = 0, found = 0, lineno = 0, rc = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    if (!strchr(line, '\n') && !feof(f)) {
      snprintf(err, err_len, "%s:%d: line too long", path, lineno);
      rc = -1;
      break;
    }
    char *s = trim(line);
    if (!*s || *s == '#' || *s == ';')
      continue;
    if (*s == '[') {
      char *close = strchr(s, ']');
      if (!close) {
        snprintf(err, err_len, "%s:%d: a section is [name]", path, lineno);
        rc = -1;
        break;
      }
      *close = '\0';
      char *section = trim(s + 1);
      if (strncmp(section, "profile ", 8) == 0) /* AWS config style */
        section = trim(section + 8);
      in_profile = strcmp(section, name) == 0;
      found |= in_profile;
      continue;
    }
    char *eq = strchr(s, '=');
    if (!eq) {
      snprintf(err, err_len, "%s:%d: expected key = value", path, lineno);
      rc = -1;
      break;
    }
    *eq = '\0';
    char *key = trim(s), *value = trim(eq + 1), *dst;
    if (!in_profile || !(dst = field(out, key)))
      continue; /* other profiles, and keys other tools use */
    if (strlen(value) >= PROFILE_VALUE_MAX) {
      snprintf(err, err_len, "%s:%d: value too long", path, lineno);
      rc = -1;
      break;
    }
    strcpy(dst, value);
  }
  fclose(f);
  if (rc == 0 && !found)
    rc = 1;
  return rc;
}
