/* cmd_admin.c - `cairn admin ...`: users, access keys, policies and groups
 * through the coordinator's admin API (/_cairn/admin/v1/), signed with
 * SigV4. Tables by default, the server's JSON with --json. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

#define ADMIN_PATH "/_cairn/admin/v1/"
#define POLICY_FILE_MAX (20 * 1024)

static const char usage_text[] =
    "usage: cairn admin <noun> <verb> [args] [--json]\n"
    "  user add|rm|disable|enable|show NAME      user ls\n"
    "  key add USER            key ls USER       key rotate USER KEY\n"
    "  key rm|disable|enable USER KEY\n"
    "  policy set USER FILE|-  policy get USER   policy rm USER\n"
    "  group add|rm|members GROUP                group ls\n"
    "  group join|leave GROUP USER\n"
    "  group policy set GROUP FILE|-   group policy get|rm GROUP\n"
    "Credentials: --access-key/--secret-key or CAIRN_ACCESS_KEY / "
    "CAIRN_SECRET_KEY.\n";

static int usage(void) {
  fputs(usage_text, stderr);
  return CLI_USAGE;
}

static const char *str(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "-";
}

static void print_json(json_t *doc) {
  char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  puts(text ? text : "{}");
  free(text);
}

/* "a,b,c" of an array of strings. */
static void join(json_t *array, char *out, size_t cap) {
  size_t i, n = 0;
  json_t *e;
  out[0] = '\0';
  json_array_foreach(array, i, e) {
    n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", i ? "," : "",
                          json_string_value(e));
  }
  if (n == 0)
    snprintf(out, cap, "-");
}

static void print_users(json_t *users) {
  printf("%-24s  %-8s  %-6s  %-20s  %s\n", "USER", "STATE", "POLICY", "CREATED",
         "GROUPS");
  size_t i;
  json_t *u;
  json_array_foreach(users, i, u) {
    char groups[512];
    join(json_object_get(u, "groups"), groups, sizeof groups);
    printf("%-24s  %-8s  %-6s  %-20s  %s\n", str(u, "name"),
           json_is_true(json_object_get(u, "disabled")) ? "disabled"
                                                        : "enabled",
           json_is_true(json_object_get(u, "has_policy")) ? "yes" : "no",
           str(u, "created"), groups);
  }
}

static void print_keys(json_t *keys) {
  printf("%-22s  %-16s  %-8s  %-20s  %s\n", "ACCESS KEY", "USER", "STATUS",
         "CREATED", "EXPIRES");
  size_t i;
  json_t *k;
  json_array_foreach(keys, i, k) {
    printf("%-22s  %-16s  %-8s  %-20s  %s\n", str(k, "access_key_id"),
           str(k, "user"), str(k, "status"), str(k, "created"),
           str(k, "expires"));
  }
}

static void print_groups(json_t *groups) {
  printf("%-24s  %-6s  %s\n", "GROUP", "POLICY", "MEMBERS");
  size_t i;
  json_t *g;
  json_array_foreach(groups, i, g) {
    char members[1024];
    join(json_object_get(g, "members"), members, sizeof members);
    printf("%-24s  %-6s  %s\n", str(g, "name"),
           json_is_true(json_object_get(g, "has_policy")) ? "yes" : "no",
           members);
  }
}

/* Prints a human view of a successful answer. */
static void print_human(json_t *doc) {
  json_t *v;
  if ((v = json_object_get(doc, "users")))
    print_users(v);
  else if ((v = json_object_get(doc, "user")) && json_is_object(v)) {
    json_t *one = json_pack("[O]", v);
    print_users(one);
    json_decref(one);
  } else if ((v = json_object_get(doc, "keys")))
    print_keys(v);
  else if ((v = json_object_get(doc, "groups")))
    print_groups(v);
  else if (json_object_get(doc, "secret_access_key")) {
    printf("access key: %s\nsecret key: %s\n(the secret is shown only "
           "once)\n",
           str(doc, "access_key_id"), str(doc, "secret_access_key"));
  } else if ((v = json_object_get(doc, "members"))) {
    char members[2048];
    join(v, members, sizeof members);
    printf("%s: %s\n", str(doc, "group"), members);
  } else if (json_object_get(doc, "policy")) {
    v = json_object_get(doc, "policy");
    if (json_is_null(v))
      puts("(no policy)");
    else
      print_json(v);
  } else {
    puts("ok");
  }
}

int cli_admin_request(const struct cli *cli, const char *method,
                      const char *path, const char *body, size_t len,
                      json_t **out) {
  *out = NULL;
  /* Each segment AWS-URI-encoded, as the server canonicalizes it. */
  char full[2048] = ADMIN_PATH;
  size_t n = strlen(full);
  for (const char *seg = path; *seg;) {
    size_t seg_len = strcspn(seg, "/");
    n += sigv4_uri_encode(seg, seg_len, 0, full + n,
                          n < sizeof full ? sizeof full - n : 0);
    if (n + 1 >= sizeof full)
      return CLI_USAGE;
    seg += seg_len;
    if (*seg == '/') {
      full[n++] = '/';
      full[n] = '\0';
      seg++;
    }
  }
  long status = 0;
  json_t *doc = NULL;
  int rc = cli_signed_json(cli, method, full, body, len, &status, &doc);
  if (rc != CLI_OK)
    return rc;
  if (status >= 300) {
    json_t *e = json_object_get(doc, "error");
    if (cli->json)
      print_json(doc);
    else
      fprintf(stderr, "cairn: %s: %s (HTTP %ld)\n", str(e, "code"),
              str(e, "message"), status);
    json_decref(doc);
    return CLI_FAILED;
  }
  *out = doc;
  return CLI_OK;
}

int cli_admin_call(const struct cli *cli, const char *method, const char *path,
                   const char *body, size_t len) {
  json_t *doc;
  int rc = cli_admin_request(cli, method, path, body, len, &doc);
  if (rc != CLI_OK)
    return rc;
  if (cli->json)
    print_json(doc);
  else
    print_human(doc);
  json_decref(doc);
  return CLI_OK;
}

char *cli_read_policy(const char *file, size_t *len) {
  FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
  if (!f) {
    fprintf(stderr, "cairn: cannot open %s\n", file);
    return NULL;
  }
  char *buf = malloc(POLICY_FILE_MAX + 1);
  size_t n = buf ? fread(buf, 1, POLICY_FILE_MAX + 1, f) : 0;
  if (f != stdin)
    fclose(f);
  if (!buf || n > POLICY_FILE_MAX) {
    fprintf(stderr, "cairn: %s is larger than 20 KiB\n", file);
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

static int put_policy(const struct cli *cli, const char *path,
                      const char *file) {
  size_t len = 0;
  char *text = cli_read_policy(file, &len);
  if (!text)
    return CLI_USAGE;
  int rc = cli_admin_call(cli, "PUT", path, text, len);
  free(text);
  return rc;
}

static int admin_user(const struct cli *cli, int argc, char **argv) {
  char p[512];
  if (argc == 1 && strcmp(argv[0], "ls") == 0)
    return cli_admin_call(cli, "GET", "users", NULL, 0);
  if (argc != 2)
    return usage();
  static const struct {
    const char *verb, *method, *fmt;
  } verbs[] = {{"add", "PUT", "users/%s"},
               {"rm", "DELETE", "users/%s"},
               {"show", "GET", "users/%s"},
               {"disable", "POST", "users/%s/disable"},
               {"enable", "POST", "users/%s/enable"}};
  for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
    if (strcmp(argv[0], verbs[i].verb) == 0) {
      snprintf(p, sizeof p, verbs[i].fmt, argv[1]);
      return cli_admin_call(cli, verbs[i].method, p, NULL, 0);
    }
  }
  return usage();
}

static int admin_key(const struct cli *cli, int argc, char **argv) {
  char p[512];
  if (argc == 2 && strcmp(argv[0], "add") == 0) {
    snprintf(p, sizeof p, "users/%s/keys", argv[1]);
    return cli_admin_call(cli, "POST", p, NULL, 0);
  }
  if (argc == 2 && strcmp(argv[0], "ls") == 0) {
    snprintf(p, sizeof p, "users/%s/keys", argv[1]);
    return cli_admin_call(cli, "GET", p, NULL, 0);
  }
  if (argc != 3)
    return usage();
  if (strcmp(argv[0], "rm") == 0) {
    snprintf(p, sizeof p, "users/%s/keys/%s", argv[1], argv[2]);
    return cli_admin_call(cli, "DELETE", p, NULL, 0);
  }
  if (strcmp(argv[0], "rotate") && strcmp(argv[0], "disable") &&
      strcmp(argv[0], "enable"))
    return usage();
  snprintf(p, sizeof p, "users/%s/keys/%s/%s", argv[1], argv[2], argv[0]);
  return cli_admin_call(cli, "POST", p, NULL, 0);
}

/* `policy set|get|rm NAME [FILE]` on users/NAME or groups/NAME. */
static int admin_policy(const struct cli *cli, const char *kind, int argc,
                        char **argv) {
  char p[512];
  if (argc < 2)
    return usage();
  snprintf(p, sizeof p, "%s/%s/policy", kind, argv[1]);
  if (argc == 3 && strcmp(argv[0], "set") == 0)
    return put_policy(cli, p, argv[2]);
  if (argc == 2 && strcmp(argv[0], "get") == 0)
    return cli_admin_call(cli, "GET", p, NULL, 0);
  if (argc == 2 && strcmp(argv[0], "rm") == 0)
    return cli_admin_call(cli, "DELETE", p, NULL, 0);
  return usage();
}

static int admin_group(const struct cli *cli, int argc, char **argv) {
  char p[512];
  if (argc == 1 && strcmp(argv[0], "ls") == 0)
    return cli_admin_call(cli, "GET", "groups", NULL, 0);
  if (argc >= 1 && strcmp(argv[0], "policy") == 0)
    return admin_policy(cli, "groups", argc - 1, argv + 1);
  if (argc == 2 && (!strcmp(argv[0], "add") || !strcmp(argv[0], "rm"))) {
    snprintf(p, sizeof p, "groups/%s", argv[1]);
    return cli_admin_call(cli, argv[0][0] == 'a' ? "PUT" : "DELETE", p, NULL,
                          0);
  }
  if (argc == 2 && strcmp(argv[0], "members") == 0) {
    snprintf(p, sizeof p, "groups/%s/members", argv[1]);
    return cli_admin_call(cli, "GET", p, NULL, 0);
  }
  if (argc == 3 && (!strcmp(argv[0], "join") || !strcmp(argv[0], "leave"))) {
    snprintf(p, sizeof p, "groups/%s/members/%s", argv[1], argv[2]);
    return cli_admin_call(cli, argv[0][0] == 'j' ? "PUT" : "DELETE", p, NULL,
                          0);
  }
  return usage();
}

int cmd_admin(const struct cli *cli, int argc, char **argv) {
  if (argc < 2)
    return usage();
  if (strcmp(argv[0], "user") == 0)
    return admin_user(cli, argc - 1, argv + 1);
  if (strcmp(argv[0], "key") == 0)
    return admin_key(cli, argc - 1, argv + 1);
  if (strcmp(argv[0], "policy") == 0)
    return admin_policy(cli, "users", argc - 1, argv + 1);
  if (strcmp(argv[0], "group") == 0)
    return admin_group(cli, argc - 1, argv + 1);
  return usage();
}
