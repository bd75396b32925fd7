/* HTTP-dates (RFC 9110, section 5.6.7), as servers send them in Date and
 * Retry-After. Pure: no collectd or curl calls. */
#ifndef ANTICAPTCHA_HTTP_DATE_H
#define ANTICAPTCHA_HTTP_DATE_H

#include <stdint.h>

/* Parses an IMF-fixdate, an RFC 850 date or an asctime date, blanks and a
 * line end around it allowed. Returns 0 with the seconds since the epoch
 * (any year strptime takes, past cdtime_t's range too), or -1. */
int http_date_parse(const char *value, int64_t *seconds);

#endif
