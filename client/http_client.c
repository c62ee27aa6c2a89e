/* http_client.c - the CLI's HTTP calls on libcurl: a plain GET and a SigV4-
 * signed request (see cli.h). */
#include "cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "sigv4.h"

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

/* Runs curl (URL and request options set) into b, then cleans it up. */
static int perform(const struct cli *cli, CURL *curl, struct body *b,
                   long *status) {
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
  CURLcode res = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
  curl_easy_cleanup(curl);
  if (res == CURLE_OK)
    return CLI_OK;
  fprintf(stderr,
          "cairn: cannot reach the coordinator at %s: %s\n"
          "cairn: is it running? Set --endpoint or CAIRN_ENDPOINT.\n",
          cli->endpoint, curl_easy_strerror(res));
  return CLI_UNREACHABLE;
}

int cli_get_json(const struct cli *cli, const char *path, json_t **out) {
  char url[2048];
  struct body body = {0};
  long status = 0;
  snprintf(url, sizeof url, "%s%s", cli->endpoint, path);

  CURL *curl = curl_easy_init();
  if (!curl)
    return CLI_FAILED;
  curl_easy_setopt(curl, CURLOPT_URL, url);
  int rc = perform(cli, curl, &body, &status);
  if (rc != CLI_OK)
    goto done;
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

/* "host[:port]" of an endpoint URL. */
static int endpoint_host(const char *endpoint, char *out, size_t cap) {
  const char *p = strstr(endpoint, "://");
  p = p ? p + 3 : endpoint;
  size_t n = strcspn(p, "/");
  if (n == 0 || n >= cap)
    return -1;
  memcpy(out, p, n);
  out[n] = '\0';
  return 0;
}

int cli_signed_json(const struct cli *cli, const char *method, const char *path,
                    const char *body, size_t body_len, long *status,
                    json_t **out) {
  char host[256], amz_date[SIGV4_AMZ_DATE_LEN + 1], hash[2 * SHA256_LEN + 1];
  char authorization[1024], url[2048];
  uint8_t digest[SHA256_LEN];
  *out = NULL;
  *status = 0;
  if (!cli->access_key || !cli->secret_key) {
    fprintf(stderr, "cairn: credentials needed: --access-key/--secret-key or "
                    "CAIRN_ACCESS_KEY/CAIRN_SECRET_KEY\n");
    return CLI_USAGE;
  }
  if (endpoint_host(cli->endpoint, host, sizeof host) != 0) {
    fprintf(stderr, "cairn: bad endpoint %s\n", cli->endpoint);
    return CLI_USAGE;
  }
  sigv4_format_amz_date((int64_t)time(NULL), amz_date);
  crypto_sha256(body ? body : "", body_len, digest);
  crypto_hex(digest, SHA256_LEN, hash);
  const char *q = strchr(path, '?');
  char raw_path[1024];
  size_t plen = q ? (size_t)(q - path) : strlen(path);
  if (plen >= sizeof raw_path)
    return CLI_USAGE;
  memcpy(raw_path, path, plen);
  raw_path[plen] = '\0';
  struct sigv4_header headers[] = {
      {"host", host}, {"x-amz-content-sha256", hash}, {"x-amz-date", amz_date}};
  struct sigv4_request req = {.method = method,
                              .path = raw_path,
                              .query = q ? q + 1 : NULL,
                              .headers = headers,
                              .header_count = 3,
                              .payload_hash = hash};
  struct sigv4_credentials cred = {.access_key = cli->access_key,
                                   .secret_key = cli->secret_key,
                                   .region = cli->region,
                                   .service = "s3"};
  if (sigv4_sign_request(&cred, &req, amz_date, authorization,
                         sizeof authorization, NULL) != 0) {
    fprintf(stderr, "cairn: cannot sign the request (credentials too long?)\n");
    return CLI_USAGE;
  }
  char h_host[300], h_date[64], h_hash[100], h_auth[1100];
  snprintf(h_host, sizeof h_host, "Host: %s", host);
  snprintf(h_date, sizeof h_date, "x-amz-date: %s", amz_date);
  snprintf(h_hash, sizeof h_hash, "x-amz-content-sha256: %s", hash);
  snprintf(h_auth, sizeof h_auth, "Authorization: %s", authorization);
  struct curl_slist *list = NULL;
  list = curl_slist_append(list, h_host);
  list = curl_slist_append(list, h_date);
  list = curl_slist_append(list, h_hash);
  list = curl_slist_append(list, h_auth);
  list = curl_slist_append(list, "Content-Type: application/json");
  list = curl_slist_append(list, "Expect:");
  snprintf(url, sizeof url, "%s%s", cli->endpoint, path);

  struct body answer = {0};
  int rc = CLI_OK;
  CURL *curl = curl_easy_init();
  if (!curl || !list) {
    curl_slist_free_all(list);
    if (curl)
      curl_easy_cleanup(curl);
    return CLI_FAILED;
  }
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  if (body_len || strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body_len);
  }
  rc = perform(cli, curl, &answer, status);
  curl_slist_free_all(list);
  if (rc == CLI_OK) {
    json_error_t jerr;
    *out = json_loadb(answer.data ? answer.data : "", answer.len, 0, &jerr);
    if (!*out) {
      fprintf(stderr, "cairn: %s answered HTTP %ld without JSON\n", url,
              *status);
      rc = CLI_FAILED;
    }
  }
  free(answer.data);
  return rc;
}
