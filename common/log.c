/* log.c - the line logger (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_INFO;
static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

int log_level_parse(const char *name) {
  for (int i = 0; i < 4; i++)
    if (strcasecmp(name, level_names[i]) == 0)
      return i;
  if (strcasecmp(name, "warning") == 0)
    return LOG_WARN;
  return -1;
}

void log_set_level(enum log_level level) {
  current_level = level;
}
enum log_level log_get_level(void) {
  return current_level;
}

void log_msg(enum log_level level, const char *component,
             const char *request_id, const char *fmt, ...) {
  if (level < current_level)
    return;
  char line[2048];
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  int n = snprintf(
      line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s ",
      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
      tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], component);
  if (request_id && n < (int)sizeof line)
    n += snprintf(line + n, sizeof line - n, "[req=%s] ", request_id);
  if (n < (int)sizeof line) {
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
  }
  if (n >= (int)sizeof line - 1)
    n = sizeof line - 2;
  /* One event, one line: fold any newline a message carried. */
  for (int i = 0; i < n; i++)
    if (line[i] == '\n' || line[i] == '\r')
      line[i] = ' ';
  line[n++] = '\n';
  ssize_t rc = write(STDERR_FILENO, line, (size_t)n);
  (void)rc;
}
