/*
 * xml_writer.c - the streaming XML builder and S3's date formats (see
 * xml_writer.h for the escaping rules and the error discipline).
 */
#include "xml_writer.h"

#include "error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XML_WRITER_INITIAL_CAP 1024

void xml_writer_init(struct xml_writer *w, size_t max) {
  memset(w, 0, sizeof *w);
  w->max = max;
}

void xml_writer_init_fixed(struct xml_writer *w, char *buf, size_t cap) {
  memset(w, 0, sizeof *w);
  w->buf = buf;
  w->cap = cap;
  w->max = cap;
  w->fixed = 1;
  if (cap)
    buf[0] = '\0';
  else
    w->error = CAIRN_ETOOBIG;
}

void xml_writer_release(struct xml_writer *w) {
  if (!w->fixed)
    free(w->buf);
  memset(w, 0, sizeof *w);
}

char *xml_writer_take(struct xml_writer *w, size_t *len) {
  char *out = NULL;
  if (!w->fixed && !w->error) {
    out = w->buf;
    if (!out) /* nothing written yet: an empty string */
      out = calloc(1, 1);
    if (len)
      *len = w->len;
    w->buf = NULL;
  }
  xml_writer_release(w);
  return out;
}

int xml_writer_error(const struct xml_writer *w) {
  return w->error;
}

/* Room for `more` bytes plus the NUL; sets the sticky error otherwise. */
static int reserve(struct xml_writer *w, size_t more) {
  if (w->error)
    return -1;
  if (more > w->max || w->len + 1 > w->max - more) {
    w->error = CAIRN_ETOOBIG;
    return -1;
  }
  size_t need = w->len + more + 1;
  if (need <= w->cap)
    return 0;
  if (w->fixed) {
    w->error = CAIRN_ETOOBIG;
    return -1;
  }
  size_t cap = w->cap ? w->cap : XML_WRITER_INITIAL_CAP;
  while (cap < need)
    cap = cap > w->max / 2 ? w->max : cap * 2;
  char *buf = realloc(w->buf, cap);
  if (!buf) {
    w->error = CAIRN_ENOMEM;
    return -1;
  }
  w->buf = buf;
  w->cap = cap;
  return 0;
}

static void append(struct xml_writer *w, const char *s, size_t n) {
  if (reserve(w, n))
    return;
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = '\0';
}

void xml_writer_raw(struct xml_writer *w, const char *xml, size_t n) {
  append(w, xml, n);
}

void xml_writer_prolog(struct xml_writer *w) {
  append(w, XML_PROLOG, sizeof XML_PROLOG - 1);
}

void xml_writer_open(struct xml_writer *w, const char *name) {
  append(w, "<", 1);
  append(w, name, strlen(name));
  append(w, ">", 1);
}

void xml_writer_open_s3(struct xml_writer *w, const char *name) {
  static const char ns[] = " xmlns=\"" S3_XML_NAMESPACE "\">";
  append(w, "<", 1);
  append(w, name, strlen(name));
  append(w, ns, sizeof ns - 1);
}

void xml_writer_close(struct xml_writer *w, const char *name) {
  append(w, "</", 2);
  append(w, name, strlen(name));
  append(w, ">", 1);
}

/* Length of the UTF-8 sequence at s (1..4) when it is a character XML 1.0
 * allows (the Char production), 0 otherwise. */
static size_t xml_char_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80)
    return c >= 0x20 || c == 0x9 || c == 0xA || c == 0xD ? 1 : 0;
  size_t len;
  uint32_t cp, min;
  if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = cp << 6 | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ||
      cp == 0xFFFE || cp == 0xFFFF)
    return 0;
  return len;
}

int xml_text_representable(const char *text, size_t n) {
  const unsigned char *s = (const unsigned char *)text;
  for (size_t i = 0; i < n;) {
    size_t len = xml_char_len(s + i, n - i);
    if (!len)
      return 0;
    i += len;
  }
  return 1;
}

void xml_writer_text(struct xml_writer *w, const char *text, size_t n) {
  const unsigned char *s = (const unsigned char *)text;
  size_t run = 0; /* start of the pending run of plain bytes */
  for (size_t i = 0; i < n;) {
    const char *rep = NULL;
    size_t len = xml_char_len(s + i, n - i);
    switch (len ? s[i] : 0) {
    case '&': rep = "&amp;"; break;
    case '<': rep = "&lt;"; break;
    case '>': rep = "&gt;"; break;
    case '"': rep = "&quot;"; break;
    case '\'': rep = "&apos;"; break;
    case '\t': rep = "&#x9;"; break;
    case '\n': rep = "&#xA;"; break;
    case '\r': rep = "&#xD;"; break;
    case 0: rep = "\xEF\xBF\xBD"; break; /* U+FFFD; skip one byte */
    default: break;
    }
    if (!rep) {
      i += len;
      continue;
    }
    append(w, text + run, i - run);
    append(w, rep, strlen(rep));
    if (!len)
      w->replaced++;
    i += len ? len : 1;
    run = i;
  }
  append(w, text + run, n - run);
}

void xml_writer_element_n(struct xml_writer *w, const char *name,
                          const char *text, size_t n) {
  if (!text)
    return;
  xml_writer_open(w, name);
  xml_writer_text(w, text, n);
  xml_writer_close(w, name);
}

void xml_writer_element(struct xml_writer *w, const char *name,
                        const char *text) {
  if (text)
    xml_writer_element_n(w, name, text, strlen(text));
}

void xml_writer_element_u64(struct xml_writer *w, const char *name,
                            uint64_t value) {
  char digits[24];
  int n = snprintf(digits, sizeof digits, "%" PRIu64, value);
  xml_writer_element_n(w, name, digits, (size_t)n);
}

void xml_writer_element_bool(struct xml_writer *w, const char *name,
                             int value) {
  xml_writer_element(w, name, value ? "true" : "false");
}

void xml_writer_element_time(struct xml_writer *w, const char *name,
                             int64_t unix_ms) {
  char iso[ISO8601_MS_LEN];
  time_format_iso8601_ms(unix_ms, iso);
  xml_writer_element(w, name, iso);
}

/* ---- dates: pure arithmetic, no locale, no TZ ---------------------------- */

static const char weekday_names[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                         "Thu", "Fri", "Sat"};
static const char *const weekday_long[7] = {"Sunday",    "Monday",   "Tuesday",
                                            "Wednesday", "Thursday", "Friday",
                                            "Saturday"};
static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                        "May", "Jun", "Jul", "Aug",
                                        "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

struct civil {
  int64_t year;
  unsigned month, day, hour, minute, second, weekday;
};

static void civil_from_seconds(int64_t t, struct civil *c) {
  int64_t days = t / 86400, rem = t % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  c->hour = (unsigned)(rem / 3600);
  c->minute = (unsigned)(rem / 60 % 60);
  c->second = (unsigned)(rem % 60);
  c->weekday = (unsigned)((days % 7 + 11) % 7); /* 1970-01-01: Thursday */
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  c->day = doy - (153 * mp + 2) / 5 + 1;
  c->month = mp < 10 ? mp + 3 : mp - 9;
  c->year = (int64_t)yoe + era * 400 + (c->month <= 2);
}

/* Writes v (< 10^width) as exactly `width` decimal digits. */
static char *put_digits(char *out, unsigned v, int width) {
  for (int i = width - 1; i >= 0; i--) {
    out[i] = (char)('0' + v % 10);
    v /= 10;
  }
  return out + width;
}

/* "YYYY-MM-DDTHH:MM:SS" (19 bytes, no NUL) */
static char *put_iso_seconds(char *o, const struct civil *c) {
  o = put_digits(o, (unsigned)(c->year % 10000), 4);
  *o++ = '-';
  o = put_digits(o, c->month, 2);
  *o++ = '-';
  o = put_digits(o, c->day, 2);
  *o++ = 'T';
  o = put_digits(o, c->hour, 2);
  *o++ = ':';
  o = put_digits(o, c->minute, 2);
  *o++ = ':';
  return put_digits(o, c->second, 2);
}

void time_format_iso8601_ms(int64_t unix_ms, char out[ISO8601_MS_LEN]) {
  int64_t ms = unix_ms % 1000, s = unix_ms / 1000;
  if (ms < 0) {
    ms += 1000;
    s--;
  }
  struct civil c;
  civil_from_seconds(s, &c);
  char *o = put_iso_seconds(out, &c);
  *o++ = '.';
  o = put_digits(o, (unsigned)ms, 3);
  *o++ = 'Z';
  *o = '\0';
}

void time_format_http_date(int64_t unix_s, char out[HTTP_DATE_LEN]) {
  struct civil c;
  civil_from_seconds(unix_s, &c);
  char *o = out;
  memcpy(o, weekday_names[c.weekday], 3);
  o += 3;
  *o++ = ',';
  *o++ = ' ';
  o = put_digits(o, c.day, 2);
  *o++ = ' ';
  memcpy(o, month_names[c.month - 1], 3);
  o += 3;
  *o++ = ' ';
  o = put_digits(o, (unsigned)(c.year % 10000), 4);
  *o++ = ' ';
  o = put_digits(o, c.hour, 2);
  *o++ = ':';
  o = put_digits(o, c.minute, 2);
  *o++ = ':';
  o = put_digits(o, c.second, 2);
  memcpy(o, " GMT", 5);
}

/* Reads exactly `digits` decimal digits (or 1..digits when `upto`). */
static int take_number(const char **p, int digits, int upto, unsigned *out) {
  unsigned v = 0;
  int n = 0;
  while (n < digits && **p >= '0' && **p <= '9') {
    v = v * 10 + (unsigned)(**p - '0');
    (*p)++;
    n++;
  }
  if (n == 0 || (!upto && n != digits))
    return -1;
  *out = v;
  return 0;
}

static int take_literal(const char **p, const char *lit) {
  size_t n = strlen(lit);
  if (strncmp(*p, lit, n) != 0)
    return -1;
  *p += n;
  return 0;
}

static int take_month(const char **p, unsigned *month) {
  for (unsigned i = 0; i < 12; i++)
    if (strncmp(*p, month_names[i], 3) == 0) {
      *month = i + 1;
      *p += 3;
      return 0;
    }
  return -1;
}

static int take_clock(const char **p, unsigned *h, unsigned *m, unsigned *s) {
  if (take_number(p, 2, 0, h) || take_literal(p, ":") ||
      take_number(p, 2, 0, m) || take_literal(p, ":") ||
      take_number(p, 2, 0, s))
    return -1;
  return *h > 23 || *m > 59 || *s > 60 ? -1 : 0;
}

int time_parse_http_date(const char *text, int64_t *unix_s) {
  const char *p = text;
  unsigned day = 0, month = 0, year = 0, h = 0, m = 0, s = 0;
  int weekday = -1;
  for (int i = 0; i < 7 && weekday < 0; i++) {
    size_t long_len = strlen(weekday_long[i]);
    if (strncmp(p, weekday_long[i], long_len) == 0 && p[long_len] == ',') {
      weekday = i; /* RFC 850 */
      p += long_len + 2;
      if (p[-1] != ' ' || take_number(&p, 2, 0, &day) ||
          take_literal(&p, "-") || take_month(&p, &month) ||
          take_literal(&p, "-") || take_number(&p, 2, 0, &year) ||
          take_literal(&p, " ") || take_clock(&p, &h, &m, &s) ||
          take_literal(&p, " GMT"))
        return CAIRN_EINVAL;
      year += year < 70 ? 2000 : 1900;
    } else if (strncmp(p, weekday_names[i], 3) == 0 && p[3] == ',') {
      weekday = i; /* IMF-fixdate */
      p += 4;
      if (take_literal(&p, " ") || take_number(&p, 2, 0, &day) ||
          take_literal(&p, " ") || take_month(&p, &month) ||
          take_literal(&p, " ") || take_number(&p, 4, 0, &year) ||
          take_literal(&p, " ") || take_clock(&p, &h, &m, &s) ||
          take_literal(&p, " GMT"))
        return CAIRN_EINVAL;
    } else if (strncmp(p, weekday_names[i], 3) == 0 && p[3] == ' ') {
      weekday = i; /* asctime: "Sun Nov  6 08:49:37 1994" */
      p += 4;
      if (take_month(&p, &month) || take_literal(&p, " "))
        return CAIRN_EINVAL;
      if (*p == ' ')
        p++;
      if (take_number(&p, 2, 1, &day) || take_literal(&p, " ") ||
          take_clock(&p, &h, &m, &s) || take_literal(&p, " ") ||
          take_number(&p, 4, 0, &year))
        return CAIRN_EINVAL;
    }
  }
  if (weekday < 0 || *p != '\0' || day < 1 || day > 31)
    return CAIRN_EINVAL;
  static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30,
                                          31, 31, 30, 31, 30, 31};
  int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > mdays[month - 1] || (month == 2 && day == 29 && !leap))
    return CAIRN_EINVAL;
  if (s == 60) /* a leap second reads as the next second's start */
    s = 59;
  *unix_s = days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + s;
  /* The weekday is redundant; RFC 9110 lets a recipient ignore it. */
  return 0;
}
