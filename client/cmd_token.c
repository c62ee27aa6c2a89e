/* cmd_token.c - `cairn token ...`: scoped tokens through the admin API
 * (POST tokens, tokens/inspect, tokens/revoke-all). `issue` prints the
 * token alone on stdout (for scripts: TOKEN=$(cairn token issue ...)),
 * the server's JSON with --json. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: cairn token <verb> [args] [--json]\n"
    "  issue --bucket B [--prefix P | --key K] --perm read,write,delete,list\n"
    "        --expires 1h [--cidr 127.0.0.1/32]... [--owner USER]\n"
    "        (expiry in s, m, h or d, at most 7d; the token acts as its owner\n"
    "        and never beyond the owner's own policies)\n"
    "  inspect TOKEN           decode and verify, show the fields\n"
    "  revoke-all              revoke every token issued so far (admin)\n"
    "Use a token as ?x-cairn-token=TOKEN or 'Authorization: Bearer TOKEN'.\n";

static int usage(void) {
  fputs(usage_text, stderr);
  return CLI_USAGE;
}

static void print_json(json_t *doc) {
  char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  puts(text ? text : "{}");
  free(text);
}

/* "90", "90s", "15m", "1h", "7d" -> seconds; -1 if malformed. */
static long long parse_duration(const char *s) {
  char *end;
  long long v = strtoll(s, &end, 10);
  if (end == s || v <= 0 || v > 1000000000LL)
    return -1;
  long long unit = !*end                   ? 1
                   : strcmp(end, "s") == 0 ? 1
                   : strcmp(end, "m") == 0 ? 60
                   : strcmp(end, "h") == 0 ? 3600
                   : strcmp(end, "d") == 0 ? 86400
                                           : -1;
  return unit < 0 ? -1 : v * unit;
}

static int issue(const struct cli *cli, int argc, char **argv) {
  json_t *req = json_object(), *cidrs = json_array();
  int rc = CLI_USAGE;
  for (int i = 0; i < argc; i++) {
    const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!val) {
      fprintf(stderr, "cairn: %s needs a value\n", opt);
      goto out;
    }
    i++;
    if (strcmp(opt, "--bucket") == 0 || strcmp(opt, "--prefix") == 0 ||
        strcmp(opt, "--key") == 0 || strcmp(opt, "--owner") == 0) {
      json_object_set_new(req, opt + 2, json_string(val));
    } else if (strcmp(opt, "--perm") == 0) {
      json_object_set_new(req, "permissions", json_string(val));
    } else if (strcmp(opt, "--expires") == 0) {
      long long secs = parse_duration(val);
      if (secs < 0) {
        fprintf(stderr, "cairn: --expires wants 90s, 15m, 1h or 7d\n");
        goto out;
      }
      json_object_set_new(req, "expires_in", json_integer(secs));
    } else if (strcmp(opt, "--cidr") == 0) {
      json_array_append_new(cidrs, json_string(val));
    } else {
      fprintf(stderr, "cairn: unknown option %s\n", opt);
      goto out;
    }
  }
  if (!json_object_get(req, "bucket") || !json_object_get(req, "permissions") ||
      !json_object_get(req, "expires_in")) {
    rc = usage();
    goto out;
  }
  json_object_set(req, "cidrs", cidrs);
  char *body = json_dumps(req, JSON_COMPACT);
  json_t *doc = NULL;
  rc = body ? cli_admin_request(cli, "POST", "tokens", body, strlen(body), &doc)
            : CLI_FAILED;
  free(body);
  if (rc == CLI_OK) {
    if (cli->json)
      print_json(doc);
    else
      puts(json_string_value(json_object_get(doc, "token")));
  }
  json_decref(doc);
out:
  json_decref(cidrs);
  json_decref(req);
  return rc;
}

static int inspect(const struct cli *cli, const char *token) {
  json_t *req = json_pack("{s:s}", "token", token);
  char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
  json_decref(req);
  json_t *doc = NULL;
  int rc = body ? cli_admin_request(cli, "POST", "tokens/inspect", body,
                                    strlen(body), &doc)
                : CLI_FAILED;
  free(body);
  if (rc != CLI_OK)
    return rc;
  if (cli->json) {
    print_json(doc);
  } else {
    const char *fields[] = {"state",   "owner",      "bucket",      "prefix",
                            "key",     "scope",      "permissions", "issued",
                            "expires", "generation", "id"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
      json_t *v = json_object_get(doc, fields[i]);
      if (json_is_string(v))
        printf("%-12s %s\n", fields[i], json_string_value(v));
      else if (json_is_integer(v))
        printf("%-12s %lld\n", fields[i], (long long)json_integer_value(v));
    }
    size_t i;
    json_t *c;
    json_t *ranges = json_object_get(doc, "cidrs");
    json_array_foreach(ranges, i, c) {
      printf("%-12s %s\n", "cidr", json_string_value(c));
    }
  }
  rc = json_is_true(json_object_get(doc, "valid")) ? CLI_OK : CLI_FAILED;
  json_decref(doc);
  return rc;
}

int cmd_token(const struct cli *cli, int argc, char **argv) {
  if (argc < 1)
    return usage();
  if (strcmp(argv[0], "issue") == 0)
    return issue(cli, argc - 1, argv + 1);
  if (strcmp(argv[0], "inspect") == 0 && argc == 2)
    return inspect(cli, argv[1]);
  if (strcmp(argv[0], "revoke-all") == 0 && argc == 1) {
    json_t *doc = NULL;
    int rc = cli_admin_request(cli, "POST", "tokens/revoke-all", NULL, 0, &doc);
    if (rc == CLI_OK) {
      if (cli->json)
        print_json(doc);
      else
        printf(
            "revoked: token generation is now %lld\n",
            (long long)json_integer_value(json_object_get(doc, "generation")));
    }
    json_decref(doc);
    return rc;
  }
  return usage();
}
