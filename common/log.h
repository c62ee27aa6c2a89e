/*
 * log.h - one line per event, to stderr:
 *
 *   2026-11-24T06:40:00.123Z INFO  coord.http [req=4F2A...] message
 *
 * The level is process-wide and set once at start from the config. Callers
 * never pass secrets: access keys may be logged, secret keys, cluster
 * secrets, signatures and data keys never are.
 */
#ifndef CAIRN_LOG_H
#define CAIRN_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Parses "debug|info|warn|error"; returns -1 when unknown. */
int log_level_parse(const char *name);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* request_id may be NULL. Thread-safe: one write(2) per line. */
void log_msg(enum log_level level, const char *component,
             const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_debug(comp, ...)                                                   \
  do {                                                                         \
    if (log_get_level() <= LOG_DEBUG)                                          \
      log_msg(LOG_DEBUG, comp, NULL, __VA_ARGS__);                             \
  } while (0)
#define log_info(comp, ...) log_msg(LOG_INFO, comp, NULL, __VA_ARGS__)
#define log_warn(comp, ...) log_msg(LOG_WARN, comp, NULL, __VA_ARGS__)
#define log_error(comp, ...) log_msg(LOG_ERROR, comp, NULL, __VA_ARGS__)

#endif
