/*
 * config.h - one option table per program, filled from three sources.
 *
 * Precedence, highest first: command-line flags (--name value, --name=value),
 * the config file (--config FILE, or the CONFIG option's env var; lines
 * "key = value", '#' comments), CAIRN_* environment variables, then the
 * default. The table is also the source of --help and of the README's table.
 *
 * Ownership: string values are heap copies owned by the target struct;
 * release them with config_release().
 */
#ifndef CAIRN_CONFIG_H
#define CAIRN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum config_type {
  CONFIG_STRING, /* char *            */
  CONFIG_INT,    /* int64_t, accepts k/m/g (binary) suffixes */
  CONFIG_BOOL,   /* int: true/false/yes/no/on/off/1/0 */
};

struct config_option {
  const char *name; /* flag and file key: "listen" -> --listen */
  const char *env;  /* "CAIRN_LISTEN", or NULL */
  enum config_type type;
  const char *default_value; /* NULL: no default (string stays NULL) */
  size_t offset;             /* of the field in the target struct */
  int64_t min, max;          /* CONFIG_INT bounds (both 0: unbounded) */
  const char *help;
};

/*
 * Fills target from the sources above. Returns 0, 1 when --help or
 * --version was handled (the caller exits 0), or a negative CAIRN_E* with a
 * one-line reason in err. Always leaves target safe to config_release().
 */
int config_load(const struct config_option *opts, size_t count, void *target,
                int argc, char **argv, const char *program, char *err,
                size_t err_len);

void config_release(const struct config_option *opts, size_t count,
                    void *target);

/* Prints the option table (name, env, default, help) to stdout. */
void config_print_help(const struct config_option *opts, size_t count,
                       const char *program);

/* Parses "host:port" (IPv4 or [IPv6]); returns 0 or CAIRN_EINVAL. */
int config_parse_hostport(const char *text, char *host, size_t host_len,
                          int *port);

#endif
