/* One call of a service's API over libcurl (see api_client.h). */
#include "api/api_client.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

#include "api/http_date.h"
#include "api/multi_driver.h"
#include "util/secret.h"

#ifndef ANTICAPTCHA_VERSION
#define ANTICAPTCHA_VERSION "unknown"
#endif

/* libcurl hands over the body in chunks; parse as they come. Returning less
 * than given aborts the transfer once the body is refused. */
static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud) {
  api_call_t *c = ud;
  size_t len = size * nmemb;
  return response_feed(&c->resp, buf, len) == 0 ? len : 0;
}

/* Copies the value of the header `name` (with its colon) in buf, if it is
 * that header, into out. */
static bool header_value(const char *buf, size_t len, const char *name,
                         char *out, size_t size) {
  size_t n = strlen(name);
  if (len <= n || strncasecmp(buf, name, n) != 0)
    return false;
  size_t v = len - n < size ? len - n : size - 1;
  memcpy(out, buf + n, v);
  out[v] = 0;
  return true;
}

/* Keeps Date (the API's clock) and Retry-After (429 and 503 may carry
 * one). */
static size_t on_header(char *buf, size_t size, size_t n, void *ud) {
  api_call_t *c = ud;
  size_t len = size * n;
  char date[64];
  int64_t t;
  if (header_value(buf, len, "Date:", date, sizeof(date)))
    c->server_date = http_date_parse(date, &t) == 0 && t > 0 ? t : 0;
  else
    header_value(buf, len, "Retry-After:", c->retry_after,
                 sizeof(c->retry_after));
  return len;
}

int api_call_init(api_call_t *c) {
  memset(c, 0, sizeof(*c));
  c->curl = curl_easy_init();
  c->headers = curl_slist_append(NULL, "Content-Type: application/json");
  if (c->headers != NULL)
    c->headers = curl_slist_append(c->headers, "Accept: application/json");
  if (c->curl == NULL || c->headers == NULL) {
    api_call_destroy(c);
    return -1;
  }
  return 0;
}

static void wipe_body(api_call_t *c) {
  secret_free(c->body); /* wipes */
  c->body = NULL;
}

void api_call_destroy(api_call_t *c) {
  wipe_body(c);
  response_destroy(&c->resp);
  if (c->curl != NULL)
    curl_easy_cleanup(c->curl);
  curl_slist_free_all(c->headers);
  c->curl = NULL;
  c->headers = NULL;
}

/* Where the key may travel: plain http (loopback only, see
 * config_check_url) never through a proxy, whatever the environment says;
 * https through the Proxy option, or the environment's proxy when it is not
 * given (a CONNECT tunnel: the proxy sees the host name, not the key). With
 * CACert or CAPath only what they hold is trusted, not libcurl's default CA
 * bundle and directory beside them. */
static void set_route_and_trust(CURL *h, const api_transport_t *t) {
  if (api_url_is_plain_http(t->url))
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  else if (t->proxy != NULL)
    curl_easy_setopt(h, CURLOPT_PROXY, t->proxy); /* "": none */
  if (t->ca_cert != NULL || t->ca_path != NULL) {
    curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_cert);
    curl_easy_setopt(h, CURLOPT_CAPATH, t->ca_path);
  }
}

static void set_transport(CURL *h, const api_transport_t *t) {
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT,
                   "collectd-anticaptcha/" ANTICAPTCHA_VERSION);
#if HAVE_DECL_CURLOPT_PROTOCOLS_STR
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
#else /* libcurl < 7.85 (configure checks) */
  curl_easy_setopt(h, CURLOPT_PROTOCOLS,
                   (long)(CURLPROTO_HTTPS | CURLPROTO_HTTP));
#endif
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  /* 0 ms would be libcurl's "no timeout". */
  long timeout_ms = (long)CDTIME_T_TO_MS(t->timeout);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, t->verify_peer ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, t->verify_host ? 2L : 0L);
  set_route_and_trust(h, t);
}

int api_call_prepare(api_call_t *c, const api_transport_t *t,
                     const char *method, char *body, size_t body_len,
                     response_kind_t kind) {
  wipe_body(c);
  response_destroy(&c->resp);
  c->body = body;
  c->method = method;
  c->code = CURLE_FAILED_INIT; /* until the transfer has really ended */
  c->http_status = 0;
  c->seconds = 0;
  c->server_date = 0;
  c->retry_after[0] = 0;
  c->errbuf[0] = 0;
  c->service =
      t->service != NULL ? t->service : service_get(SERVICE_ANTI_CAPTCHA);
  if (body == NULL || response_init(&c->resp, kind) != 0)
    return -1;
  snprintf(c->url, sizeof(c->url), "%s/%s", t->url, method);

  CURL *h = c->curl;
  curl_easy_reset(h); /* keeps the connection and TLS session caches */
  set_transport(h, t);
  curl_easy_setopt(h, CURLOPT_URL, c->url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
  curl_easy_setopt(h, CURLOPT_PRIVATE, c);
  return 0;
}

void api_call_complete(api_call_t *c, CURLcode code) {
  c->code = code;
  curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->http_status);
  curl_easy_getinfo(c->curl, CURLINFO_TOTAL_TIME, &c->seconds);
  c->status = response_finish(&c->resp);
  response_destroy(&c->resp); /* the parsed fields stay */
  wipe_body(c);
}

/* A write error is ours when we refused the body: that is a bad answer, not
 * a transport failure. */
static bool transport_failed(const api_call_t *c) {
  return c->code != CURLE_OK &&
         !(c->code == CURLE_WRITE_ERROR && c->resp.failed);
}

api_result_t api_call_result(const api_call_t *c) {
  if (transport_failed(c))
    return API_TRANSIENT;
  if (c->http_status < 200 || c->http_status > 299) {
    if (c->http_status >= 500 || c->http_status == 429 || c->http_status == 0)
      return API_TRANSIENT;
    /* CapSolver sends its error answers with HTTP 400 and 401: the body
     * says whether the task or the account is refused. */
    return c->service->errors_in_4xx && c->http_status < 500 &&
                   c->status == RESPONSE_API_ERROR
               ? API_ERROR
               : API_HTTP_FINAL;
  }
  switch (c->status) {
  case RESPONSE_OK:
    return API_OK;
  case RESPONSE_API_ERROR:
    return API_ERROR;
  default:
    return API_TRANSIENT;
  }
}

service_error_t api_call_error(const api_call_t *c) {
  if (api_call_result(c) != API_ERROR)
    return SERVICE_ERROR_METHOD; /* an HTTP 4xx: a wrong URL, a refusal */
  return service_error(c->service, c->resp.error_id, c->resp.error_code);
}

const char *api_call_describe(const api_call_t *c, char *buf, size_t size) {
  switch (api_call_result(c)) {
  case API_OK:
    snprintf(buf, size, "success");
    break;
  case API_ERROR:
    /* CapMonster's error answers carry no description. */
    snprintf(buf, size, "errorId %lld, errorCode %s%s%s%s",
             (long long)c->resp.error_id,
             c->resp.error_code[0] ? c->resp.error_code : "none",
             c->resp.error_description[0] ? " (" : "",
             c->resp.error_description,
             c->resp.error_description[0] ? ")" : "");
    break;
  default:
    if (transport_failed(c)) {
      /* libcurl's message may quote what the peer sent. */
      char msg[CURL_ERROR_SIZE * 4];
      const char *m = c->errbuf[0] ? c->errbuf : curl_easy_strerror(c->code);
      response_escape(msg, sizeof(msg), m, strlen(m));
      snprintf(buf, size, "transport failure: %s", msg);
    } else if (c->http_status < 200 || c->http_status > 299)
      snprintf(buf, size, "HTTP status %ld", c->http_status);
    else
      snprintf(buf, size, "unusable answer: %s", c->resp.problem);
  }
  return buf;
}

CURLM *api_multi_create(long max_connections) {
  CURLM *m = curl_multi_init();
  if (m == NULL)
    return NULL;
  curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, max_connections);
  return m;
}

int api_batch_init(api_batch_t *b, size_t n) {
  *b = (api_batch_t){.multi = api_multi_create((long)n),
                     .calls = calloc(n, sizeof(*b->calls))};
  if (b->multi == NULL || b->calls == NULL) {
    api_batch_destroy(b);
    return -1;
  }
  for (; b->n < n; b->n++)
    if (api_call_init(&b->calls[b->n]) != 0) {
      api_batch_destroy(b);
      return -1;
    }
  return 0;
}

void api_batch_destroy(api_batch_t *b) {
  for (size_t i = 0; i < b->n; i++)
    api_call_destroy(&b->calls[i]);
  if (b->multi != NULL)
    curl_multi_cleanup(b->multi);
  free(b->calls);
  *b = (api_batch_t){0};
}

/* One transfer of api_run_all ended. */
static void run_all_done(void *ud, CURL *easy, CURLcode result) {
  size_t *left = ud;
  api_call_t *c = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
  if (c != NULL)
    api_call_complete(c, result);
  (*left)--;
}

int api_run_all(CURLM *multi, api_call_t *const *calls, size_t n) {
  multi_driver_t d;
  size_t left = 0;
  if (driver_init(&d, multi, "a poll", false) != 0) {
    for (size_t i = 0; i < n; i++)
      api_call_complete(calls[i], CURLE_FAILED_INIT);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    if (curl_multi_add_handle(multi, calls[i]->curl) == CURLM_OK)
      left++;
    else
      api_call_complete(calls[i], CURLE_OUT_OF_MEMORY);
  }
  /* Each call has its own timeout: libcurl ends every one. */
  while (left > 0)
    driver_turn(&d, 1000, run_all_done, &left);
  for (size_t i = 0; i < n; i++)
    curl_multi_remove_handle(multi, calls[i]->curl);
  driver_detach(&d);
  driver_destroy(&d);
  return 0;
}
