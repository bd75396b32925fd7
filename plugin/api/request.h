/* Request bodies for the Anti-Captcha API, built with yajl_gen.
 * Pure: no collectd or curl calls, so the unit tests can check every byte. */
#ifndef ANTICAPTCHA_REQUEST_H
#define ANTICAPTCHA_REQUEST_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char *client_key;
  const char *queue; /* NULL: totals over all queues */
  int64_t soft_id;   /* <= 0: not sent */
  const char *ip;    /* NULL: not sent */
  int64_t date;      /* <= 0: not sent (the last 24 hours) */
} spending_request_t;

/* Each returns a NUL-terminated JSON object in secret memory (secret.h) that
 * the caller frees with secret_free, and stores its length in *len; NULL when a
 * string is not valid UTF-8 or memory runs out. */
char *request_spending(const spending_request_t *req, size_t *len);
char *request_balance(const char *client_key, size_t *len);
char *request_report(const char *client_key, uint64_t task_id, size_t *len);

#endif
