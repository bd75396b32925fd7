/* Request bodies for the services' APIs, built with yajl_gen.
 * Pure: no collectd or curl calls, so the unit tests can check every byte. */
#ifndef ANTICAPTCHA_REQUEST_H
#define ANTICAPTCHA_REQUEST_H

#include <stdbool.h>
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
/* {clientKey, taskId}: a report by its method's name (Anti-Captcha,
 * CapMonster, 2captcha); task_id 1 to 2^63-1. */
char *request_report(const char *client_key, uint64_t task_id, size_t *len);
/* CapSolver's feedbackTask: {clientKey, taskId: the id as a string,
 * result: {invalid}}. */
char *request_feedback(const char *client_key, const char *task_id,
                       bool invalid, size_t *len);

#endif
