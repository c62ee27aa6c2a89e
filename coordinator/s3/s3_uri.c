/* s3_uri.c - percent-encoding (see s3_uri.h). */
#include "s3_uri.h"

#include "crypto.h"
#include "sigv4.h"

#include <stdlib.h>

char *s3_uri_decode(const char *in, size_t n, int plus_is_space, int strict) {
  char *out = malloc(n + 1), *o = out;
  if (!out)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    int hi = in[i] == '%' && i + 2 < n ? crypto_hex_digit(in[i + 1]) : -1;
    int lo = hi >= 0 ? crypto_hex_digit(in[i + 2]) : -1;
    if (in[i] == '%' && (lo < 0 || (strict && hi == 0 && lo == 0))) {
      if (strict) {
        free(out);
        return NULL;
      }
      *o++ = in[i];
    } else if (in[i] == '%') {
      *o++ = (char)(hi << 4 | lo);
      i += 2;
    } else {
      *o++ = in[i] == '+' && plus_is_space ? ' ' : in[i];
    }
  }
  *o = '\0';
  return out;
}

char *s3_uri_encode(const char *in, size_t n, int keep_slash) {
  char *out = malloc(3 * n + 1);
  if (out)
    sigv4_uri_encode(in, n, keep_slash, out, 3 * n + 1);
  return out;
}
