/* credentials.c - cluster secret and root credentials (see credentials.h). */
#include "credentials.h"

#include "error.h"
#include "log.h"
#include "secret_file.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

static int load_cluster_secret(const struct coord_config *cfg,
                               struct coord_secrets *out, char *err,
                               size_t err_len) {
  char path[4096];
  if (cfg->cluster_secret) {
    snprintf(out->cluster_secret, sizeof out->cluster_secret, "%s",
             cfg->cluster_secret);
  } else {
    int generated = 0;
    if (cfg->cluster_secret_file)
      snprintf(path, sizeof path, "%s", cfg->cluster_secret_file);
    else
      snprintf(path, sizeof path, "%s/cluster.secret", cfg->data_dir);
    long n =
        secret_file_read(path, out->cluster_secret, sizeof out->cluster_secret);
    if (n == CAIRN_ENOENT && !cfg->cluster_secret_file) {
      char fresh[49];
      int rc = secret_random_text(fresh, 48, 0);
      if (rc == 0)
        rc = secret_file_write(path, fresh, 48);
      if (rc != 0) {
        snprintf(err, err_len, "cannot write cluster secret %s: %s", path,
                 cairn_strerror(rc));
        return rc;
      }
      memcpy(out->cluster_secret, fresh, sizeof fresh);
      OPENSSL_cleanse(fresh, sizeof fresh);
      generated = 1;
    } else if (n < 0) {
      snprintf(err, err_len, "cannot read cluster secret %s: %s%s", path,
               cairn_strerror((int)n),
               n == CAIRN_EPERM ? " (it must be mode 0600)" : "");
      return (int)n;
    }
    if (generated)
      log_info("coord", "generated a cluster secret in %s", path);
  }
  out->cluster_secret_len = strlen(out->cluster_secret);
  if (out->cluster_secret_len < CLUSTER_SECRET_MIN) {
    snprintf(err, err_len,
             "the cluster secret must have at least %d "
             "characters",
             CLUSTER_SECRET_MIN);
    return CAIRN_EINVAL;
  }
  return 0;
}

static int load_root(const struct coord_config *cfg, struct coord_secrets *out,
                     char *err, size_t err_len) {
  if (cfg->root_access_key || cfg->root_secret_key) {
    if (!cfg->root_access_key || !cfg->root_secret_key) {
      snprintf(err, err_len,
               "set both CAIRN_ROOT_ACCESS_KEY and "
               "CAIRN_ROOT_SECRET_KEY, or neither");
      return CAIRN_EINVAL;
    }
    size_t ak = strlen(cfg->root_access_key), sk = strlen(cfg->root_secret_key);
    if (ak < 3 || ak > 128 || sk < 8 || sk > 128) {
      snprintf(err, err_len,
               "root access key must have 3-128 characters and "
               "the secret key 8-128");
      return CAIRN_EINVAL;
    }
    memcpy(out->root_access_key, cfg->root_access_key, ak + 1);
    memcpy(out->root_secret_key, cfg->root_secret_key, sk + 1);
    return 0;
  }
  char path[4096], line[300];
  snprintf(path, sizeof path, "%s/root.credentials", cfg->data_dir);
  long n = secret_file_read(path, line, sizeof line);
  if (n >= 0) {
    /* format: ACCESS_KEY:SECRET_KEY */
    char *colon = strchr(line, ':');
    if (!colon || colon == line || colon - line > 128 ||
        strlen(colon + 1) < 8 || strlen(colon + 1) > 128) {
      snprintf(err, err_len, "%s is malformed (want ACCESS:SECRET)", path);
      OPENSSL_cleanse(line, sizeof line);
      return CAIRN_EINVAL;
    }
    *colon = '\0';
    memcpy(out->root_access_key, line, strlen(line) + 1);
    memcpy(out->root_secret_key, colon + 1, strlen(colon + 1) + 1);
    OPENSSL_cleanse(line, sizeof line);
    log_info("coord", "root credentials loaded from %s (access key %s)", path,
             out->root_access_key);
    return 0;
  }
  if (n != CAIRN_ENOENT) {
    snprintf(err, err_len, "cannot read %s: %s%s", path, cairn_strerror((int)n),
             n == CAIRN_EPERM ? " (it must be mode 0600)" : "");
    return (int)n;
  }
  int rc = secret_random_text(out->root_access_key, ROOT_ACCESS_KEY_LEN, 1);
  if (rc == 0)
    rc = secret_random_text(out->root_secret_key, ROOT_SECRET_KEY_LEN, 0);
  if (rc == 0) {
    snprintf(line, sizeof line, "%s:%s", out->root_access_key,
             out->root_secret_key);
    rc = secret_file_write(path, line, strlen(line));
    OPENSSL_cleanse(line, sizeof line);
  }
  if (rc != 0) {
    snprintf(err, err_len, "cannot write %s: %s", path, cairn_strerror(rc));
    return rc;
  }
  /* Printed once, on stdout (never in the log): the operator's only copy
   * besides the 0600 file. */
  printf("Generated root credentials (saved in %s, mode 0600):\n"
         "  access key: %s\n  secret key: %s\n",
         path, out->root_access_key, out->root_secret_key);
  fflush(stdout);
  return 0;
}

int credentials_load(const struct coord_config *cfg, struct coord_secrets *out,
                     char *err, size_t err_len) {
  memset(out, 0, sizeof *out);
  int rc = load_cluster_secret(cfg, out, err, err_len);
  if (rc == 0)
    rc = load_root(cfg, out, err, err_len);
  if (rc != 0)
    credentials_clear(out);
  return rc;
}

void credentials_clear(struct coord_secrets *s) {
  OPENSSL_cleanse(s, sizeof *s);
}
