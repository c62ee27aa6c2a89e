/* config.c - flags > file > env > default (see config.h). */
#include "config.h"

#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_LINE_MAX 4096

static const struct config_option *find_option(const struct config_option *o,
                                               size_t n, const char *name,
                                               size_t name_len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(o[i].name) == name_len &&
        strncmp(o[i].name, name, name_len) == 0)
      return &o[i];
  return NULL;
}

static int parse_int(const char *text, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || end == text)
    return CAIRN_EINVAL;
  int64_t mult = 1;
  switch (tolower((unsigned char)*end)) {
  case 'k':
    mult = 1024;
    end++;
    break;
  case 'm':
    mult = 1024 * 1024;
    end++;
    break;
  case 'g':
    mult = 1024LL * 1024 * 1024;
    end++;
    break;
  default: break;
  }
  if (*end == 'i' || *end == 'I')
    end++;
  if (*end == 'b' || *end == 'B')
    end++;
  if (*end != '\0')
    return CAIRN_EINVAL;
  if (v > INT64_MAX / mult || v < INT64_MIN / mult)
    return CAIRN_ERANGE;
  *out = v * mult;
  return 0;
}

static int parse_bool(const char *text, int *out) {
  static const char *const yes[] = {"1", "true", "yes", "on"};
  static const char *const no[] = {"0", "false", "no", "off"};
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(text, yes[i]) == 0) {
      *out = 1;
      return 0;
    }
    if (strcasecmp(text, no[i]) == 0) {
      *out = 0;
      return 0;
    }
  }
  return CAIRN_EINVAL;
}

/* Sets one option from text; `source` names where it came from, for errors. */
static int set_option(const struct config_option *opt, void *target,
                      const char *text, const char *source, char *err,
                      size_t err_len) {
  char *field = (char *)target + opt->offset;
  switch (opt->type) {
  case CONFIG_STRING: {
    char *copy = strdup(text);
    if (!copy)
      return CAIRN_ENOMEM;
    free(*(char **)field);
    *(char **)field = copy;
    return 0;
  }
  case CONFIG_INT: {
    int64_t v;
    if (parse_int(text, &v) != 0) {
      snprintf(err, err_len, "%s: option '%s' wants an integer, got '%s'",
               source, opt->name, text);
      return CAIRN_EINVAL;
    }
    if ((opt->min || opt->max) && (v < opt->min || v > opt->max)) {
      snprintf(err, err_len,
               "%s: option '%s' must be between %lld and %lld, got %lld",
               source, opt->name, (long long)opt->min, (long long)opt->max,
               (long long)v);
      return CAIRN_ERANGE;
    }
    *(int64_t *)field = v;
    return 0;
  }
  case CONFIG_BOOL:
    if (parse_bool(text, (int *)field) != 0) {
      snprintf(err, err_len, "%s: option '%s' wants true or false, got '%s'",
               source, opt->name, text);
      return CAIRN_EINVAL;
    }
    return 0;
  }
  return CAIRN_EINVAL;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s))
    s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1]))
    *--e = '\0';
  return s;
}

static int load_file(const struct config_option *opts, size_t count,
                     void *target, const char *path, char *err,
                     size_t err_len) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, err_len, "cannot open config file %s: %s", path,
             strerror(errno));
    return cairn_err_from_errno(errno);
  }
  char line[CONFIG_LINE_MAX], where[512];
  int lineno = 0, rc = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    snprintf(where, sizeof where, "%s:%d", path, lineno);
    if (!strchr(line, '\n') && !feof(f)) {
      snprintf(err, err_len, "%s: line too long", where);
      rc = CAIRN_EINVAL;
      break;
    }
    char *s = trim(line);
    if (*s == '\0' || *s == '#')
      continue;
    char *eq = strchr(s, '=');
    if (!eq) {
      snprintf(err, err_len, "%s: expected 'key = value'", where);
      rc = CAIRN_EINVAL;
      break;
    }
    *eq = '\0';
    char *key = trim(s), *value = trim(eq + 1);
    const struct config_option *opt =
        find_option(opts, count, key, strlen(key));
    if (!opt || strcmp(key, "config") == 0) {
      snprintf(err, err_len, "%s: unknown option '%s'", where, key);
      rc = CAIRN_EINVAL;
      break;
    }
    if ((rc = set_option(opt, target, value, where, err, err_len)) != 0)
      break;
  }
  fclose(f);
  return rc;
}

int config_load(const struct config_option *opts, size_t count, void *target,
                int argc, char **argv, const char *program, char *err,
                size_t err_len) {
  int rc;
  err[0] = '\0';
  /* 1. defaults, 2. environment */
  for (size_t i = 0; i < count; i++) {
    if (opts[i].default_value &&
        (rc = set_option(&opts[i], target, opts[i].default_value, "default",
                         err, err_len)) != 0)
      return rc;
    const char *env = opts[i].env ? getenv(opts[i].env) : NULL;
    if (env && (rc = set_option(&opts[i], target, env, opts[i].env, err,
                                err_len)) != 0)
      return rc;
  }
  /* 3. the config file, named by flag or env */
  const char *config_path = getenv("CAIRN_CONFIG");
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      config_print_help(opts, count, program);
      return 1;
    }
    if (strcmp(argv[i], "--version") == 0) {
      printf("%s %s\n", program, CAIRN_VERSION);
      return 1;
    }
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
      config_path = argv[i + 1];
    else if (strncmp(argv[i], "--config=", 9) == 0)
      config_path = argv[i] + 9;
  }
  if (config_path && *config_path &&
      (rc = load_file(opts, count, target, config_path, err, err_len)) != 0)
    return rc;
  /* 4. flags */
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0) {
      snprintf(err, err_len, "unexpected argument '%s' (try --help)", arg);
      return CAIRN_EINVAL;
    }
    arg += 2;
    const char *eq = strchr(arg, '=');
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    const char *value = eq ? eq + 1 : NULL;
    if (!value) {
      if (i + 1 >= argc) {
        snprintf(err, err_len, "option --%s needs a value", arg);
        return CAIRN_EINVAL;
      }
      value = argv[++i];
    }
    if (name_len == 6 && strncmp(arg, "config", 6) == 0)
      continue;
    const struct config_option *opt = find_option(opts, count, arg, name_len);
    if (!opt) {
      snprintf(err, err_len, "unknown option --%.*s (try --help)",
               (int)name_len, arg);
      return CAIRN_EINVAL;
    }
    if ((rc = set_option(opt, target, value, "command line", err, err_len)))
      return rc;
  }
  return 0;
}

void config_release(const struct config_option *opts, size_t count,
                    void *target) {
  for (size_t i = 0; i < count; i++)
    if (opts[i].type == CONFIG_STRING) {
      char **field = (char **)((char *)target + opts[i].offset);
      free(*field);
      *field = NULL;
    }
}

void config_print_help(const struct config_option *opts, size_t count,
                       const char *program) {
  printf("usage: %s [--config FILE] [--option value ...]\n\n", program);
  printf("Options (flags > config file > environment > default):\n");
  for (size_t i = 0; i < count; i++)
    printf("  --%-24s %-28s default: %s\n      %s\n", opts[i].name,
           opts[i].env ? opts[i].env : "",
           opts[i].default_value ? opts[i].default_value : "(none)",
           opts[i].help);
}

int config_parse_hostport(const char *text, char *host, size_t host_len,
                          int *port) {
  const char *colon;
  const char *h = text;
  size_t hl;
  if (*text == '[') {
    const char *close = strchr(text, ']');
    if (!close || close[1] != ':')
      return CAIRN_EINVAL;
    h = text + 1;
    hl = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(text, ':');
    if (!colon)
      return CAIRN_EINVAL;
    hl = (size_t)(colon - text);
  }
  if (hl == 0 || hl >= host_len)
    return CAIRN_EINVAL;
  char *end;
  errno = 0;
  long p = strtol(colon + 1, &end, 10);
  if (errno || *end || end == colon + 1 || p < 0 || p > 65535)
    return CAIRN_EINVAL;
  memcpy(host, h, hl);
  host[hl] = '\0';
  *port = (int)p;
  return 0;
}
