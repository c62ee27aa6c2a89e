/*
 * node_identity.h - the node's data directories and its persistent id.
 *
 * The id is 32 lower-case hex characters (16 bytes from crypto_random),
 * created on first start in <first data dir>/node.id and reused across
 * restarts; it names the node in the coordinator's registry and in every
 * chunk placement, so losing it orphans the node's chunks.
 */
#ifndef CAIRN_NODE_IDENTITY_H
#define CAIRN_NODE_IDENTITY_H

#include <stddef.h>

#define NODE_ID_LEN 32
#define NODE_MAX_DATA_DIRS 32
#define NODE_ID_FILE "node.id"

/*
 * Splits list ("a,b,c", modified in place) into dirs (pointers into list),
 * creates each missing dir whose parent exists (mode 0700) and proves each
 * is writable by creating and removing a probe file. Returns 0 and the count
 * in *count, or CAIRN_E* with a one-line reason in err (empty list, more
 * than NODE_MAX_DATA_DIRS, a dir that cannot be created or written).
 */
int node_data_dirs_prepare(char *list, char *dirs[NODE_MAX_DATA_DIRS],
                           size_t *count, char *err, size_t err_len);

/*
 * Reads dir/node.id into id, or creates it when absent: written to a temp
 * file, fsync'd, renamed, the dir fsync'd, so that a crash leaves either no
 * id or a whole one. Returns 0, or CAIRN_ECORRUPT (the file holds something
 * else than an id: never replaced silently), or another CAIRN_E*; a
 * one-line reason in err.
 */
int node_identity_load(const char *dir, char id[NODE_ID_LEN + 1], char *err,
                       size_t err_len);

/* 1 if id is exactly 32 lower-case hex characters. */
int node_id_valid(const char *id);

#endif
