/*
 * credentials.h - the secrets a coordinator starts with.
 *
 * Cluster secret: --cluster-secret, else the file named by
 * --cluster-secret-file, else DATA_DIR/cluster.secret (generated on first
 * start with 0600 permissions). Root credentials: both of
 * CAIRN_ROOT_ACCESS_KEY / CAIRN_ROOT_SECRET_KEY (or the flags), else
 * DATA_DIR/root.credentials (generated on first start, 0600, and printed once
 * to stdout). There is no default password.
 */
#ifndef CAIRN_CREDENTIALS_H
#define CAIRN_CREDENTIALS_H

#include <stddef.h>

#include "coord_config.h"

#define ROOT_ACCESS_KEY_LEN 20
#define ROOT_SECRET_KEY_LEN 40
#define CLUSTER_SECRET_MIN 16
#define CLUSTER_SECRET_MAX 256

struct coord_secrets {
  char cluster_secret[CLUSTER_SECRET_MAX + 1];
  size_t cluster_secret_len;
  char root_access_key[129];
  char root_secret_key[129];
};

/* 0 or CAIRN_E* with a one-line reason in err. */
int credentials_load(const struct coord_config *cfg, struct coord_secrets *out,
                     char *err, size_t err_len);

/* Wipes the secrets from memory. */
void credentials_clear(struct coord_secrets *s);

#endif
