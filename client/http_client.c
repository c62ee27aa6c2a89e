/* http_client.c - the CLI's one HTTP call, on libcurl (see cli.h). */
#include "cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_MAX_RESPONSE (16 << 20)

struct body {
  char *data;
  size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg) {
  struct body *b = arg;
  size_t n = size * nmemb;
  if (b->len + n > CLI_MAX_RESPONSE)
    return 0; /* aborts the transfer */
  char *grown = realloc(b->data, b->len + n + 1);
  if (!grown)
    return 0;
  memcpy(grown + b->len, ptr, n);
  b->data = grown;
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

int cli_get_json(const struct cli *cli, const char *path, json_t **out) {
  char url[2048];
  struct body body = {0};
  long status = 0;
  int rc = CLI_OK;
  snprintf(url, sizeof url, "%s%s", cli->endpoint, path);

  CURL *curl = curl_easy_init();
  if (!curl)
    return CLI_FAILED;
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
  CURLcode res = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);

  if (res != CURLE_OK) {
    fprintf(stderr,
            "cairn: cannot reach the coordinator at %s: %s\n"
            "cairn: is it running? Set --endpoint or CAIRN_ENDPOINT.\n",
            cli->endpoint, curl_easy_strerror(res));
    rc = CLI_UNREACHABLE;
    goto done;
  }
  if (status != 200) {
    fprintf(stderr, "cairn: %s answered HTTP %ld\n", url, status);
    rc = CLI_FAILED;
    goto done;
  }
  json_error_t jerr;
  *out = json_loadb(body.data ? body.data : "", body.len, 0, &jerr);
  if (!*out) {
    fprintf(stderr, "cairn: %s returned invalid JSON: %s\n", url, jerr.text);
    rc = CLI_FAILED;
  }
done:
  free(body.data);
  return rc;
}
