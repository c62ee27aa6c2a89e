/* cmd_bucket.c - `cairn bucket policy set|get|rm`: bucket policies through
 * the admin API (PUT|GET|DELETE /_cairn/admin/v1/buckets/NAME/policy),
 * the same document S3's PutBucketPolicy stores. The admin API was the
 * thinner path: the CLI already signs JSON calls to it, while S3 answers
 * XML. Presets, as MyFSIO offers them: public-read (anyone may list the
 * bucket and read its objects) and private (no bucket policy at all). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: cairn bucket policy set BUCKET FILE|-\n"
    "       cairn bucket policy set BUCKET --preset public-read|private\n"
    "       cairn bucket policy get|rm BUCKET\n"
    "Credentials: root, or a user allowed s3:PutBucketPolicy & co. on the "
    "bucket.\n";

static int usage(void) {
  fputs(usage_text, stderr);
  return CLI_USAGE;
}

/* The public-read preset for bucket (malloc'd JSON). */
static char *public_read(const char *bucket, size_t *len) {
  static const char fmt[] =
      "{\"Version\":\"2012-10-17\",\"Statement\":["
      "{\"Sid\":\"PublicList\",\"Effect\":\"Allow\",\"Principal\":\"*\","
      "\"Action\":[\"s3:ListBucket\"],\"Resource\":[\"arn:aws:s3:::%s\"]},"
      "{\"Sid\":\"PublicRead\",\"Effect\":\"Allow\",\"Principal\":\"*\","
      "\"Action\":[\"s3:GetObject\"],\"Resource\":[\"arn:aws:s3:::%s/*\"]}]}";
  int n = snprintf(NULL, 0, fmt, bucket, bucket);
  char *text = n > 0 ? malloc((size_t)n + 1) : NULL;
  if (text)
    snprintf(text, (size_t)n + 1, fmt, bucket, bucket);
  *len = text ? (size_t)n : 0;
  return text;
}

int cmd_bucket(const struct cli *cli, int argc, char **argv) {
  if (argc < 3 || strcmp(argv[0], "policy") != 0 || strchr(argv[2], '/'))
    return usage();
  const char *verb = argv[1], *bucket = argv[2];
  char path[128];
  snprintf(path, sizeof path, "buckets/%.63s/policy", bucket);
  if (argc == 3 && strcmp(verb, "get") == 0)
    return cli_admin_call(cli, "GET", path, NULL, 0);
  if (argc == 3 && strcmp(verb, "rm") == 0)
    return cli_admin_call(cli, "DELETE", path, NULL, 0);
  if (strcmp(verb, "set") != 0)
    return usage();
  size_t len = 0;
  char *text = NULL;
  if (argc == 5 && strcmp(argv[3], "--preset") == 0) {
    if (strcmp(argv[4], "private") == 0)
      return cli_admin_call(cli, "DELETE", path, NULL, 0);
    if (strcmp(argv[4], "public-read") != 0)
      return usage();
    text = public_read(bucket, &len);
  } else if (argc == 4) {
    text = cli_read_policy(argv[3], &len);
  } else {
    return usage();
  }
  if (!text)
    return CLI_USAGE;
  int rc = cli_admin_call(cli, "PUT", path, text, len);
  free(text);
  return rc;
}
