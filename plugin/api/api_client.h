/* One call of a service's API over libcurl, and a runner that performs a batch
 * of calls concurrently on one multi handle (whose connection cache keeps
 * connections alive from one batch to the next). */
#ifndef ANTICAPTCHA_API_CLIENT_H
#define ANTICAPTCHA_API_CLIENT_H

#include <curl/curl.h>

#include "api/response.h"
#include "api/service.h"
#include "api/transport.h"

typedef enum {
  API_OK,         /* errorId 0, every needed field present */
  API_ERROR,      /* the API answered errorId != 0 (api_call_error()) */
  API_TRANSIENT,  /* transport failure, HTTP 5xx/429, unparsable body */
  API_HTTP_FINAL, /* another non-2xx HTTP status: retrying will not help */
} api_result_t;

typedef struct {
  CURL *curl;
  struct curl_slist *headers;
  char *body; /* owned; holds the key, so it is wiped before it is freed */
  char url[512];
  const char *method;       /* static string: the API method name */
  const service_t *service; /* the endpoint's, set by api_call_prepare */
  response_t resp;
  response_status_t status;
  CURLcode code;
  long http_status;
  double seconds; /* total transfer time */
  /* The answer's Date, seconds since the epoch (0: none or unreadable): the
   * API's clock, which its hours follow. */
  int64_t server_date;
  char retry_after[64]; /* the answer's Retry-After header ("": none) */
  char errbuf[CURL_ERROR_SIZE];
  void *user; /* the report sender's slot (readers leave it NULL) */
} api_call_t;

int api_call_init(api_call_t *c);
void api_call_destroy(api_call_t *c);

/* Sets the call up for one request to the endpoint t; takes ownership of
 * body (even on failure). Returns 0 or -1. */
int api_call_prepare(api_call_t *c, const api_transport_t *t,
                     const char *method, char *body, size_t body_len,
                     response_kind_t kind);

/* Called once the transfer has ended with the given libcurl result. */
void api_call_complete(api_call_t *c, CURLcode code);

api_result_t api_call_result(const api_call_t *c);

/* What an API_ERROR or API_HTTP_FINAL result means, read the way the
 * service tells its errors; another HTTP 4xx concerns the account. */
service_error_t api_call_error(const api_call_t *c);

/* A short text for the log: errorCode, HTTP status or what went wrong. Never
 * contains the key. */
const char *api_call_describe(const api_call_t *c, char *buf, size_t size);

/* Performs the calls concurrently and returns when all have ended (each has
 * its own timeout), driven by multi_driver.h. Returns 0, or -1 when the
 * driver cannot be set up (then no call was made). */
int api_run_all(CURLM *multi, api_call_t *const *calls, size_t n);

/* A multi handle set up for concurrent calls with connections kept alive. */
CURLM *api_multi_create(long max_connections);

/* A reader's calls and the multi handle that runs them together, made and
 * destroyed as one. */
typedef struct {
  CURLM *multi;
  api_call_t *calls;
  size_t n;
} api_batch_t;

/* Returns 0, or -1 (out of memory) with *b destroyed. */
int api_batch_init(api_batch_t *b, size_t n);
void api_batch_destroy(api_batch_t *b);

#endif
