/* HTTP-dates (see http_date.h). */
#define _GNU_SOURCE /* strptime, timegm */
#include "api/http_date.h"

#include <stddef.h>
#include <time.h>

static const char *skip_blanks(const char *s) {
  while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
    s++;
  return s;
}

int http_date_parse(const char *value, int64_t *seconds) {
  static const char *const formats[] = {
      "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate */
      "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 */
      "%a %b %e %H:%M:%S %Y",      /* asctime */
  };
  value = skip_blanks(value);
  for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
    struct tm tm = {0};
    const char *end = strptime(value, formats[i], &tm);
    if (end == NULL || *skip_blanks(end) != 0)
      continue;
    *seconds = (int64_t)timegm(&tm);
    return 0;
  }
  return -1;
}
