/* Request bodies built with yajl_gen (see request.h). */
#include "api/request.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "util/secret.h"

static int gen_str(yajl_gen g, const char *s) {
  return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) ==
                 yajl_gen_status_ok
             ? 0
             : -1;
}

static int gen_pair_str(yajl_gen g, const char *key, const char *value) {
  return (gen_str(g, key) == 0 && gen_str(g, value) == 0) ? 0 : -1;
}

static int gen_pair_int(yajl_gen g, const char *key, long long value) {
  if (gen_str(g, key) != 0)
    return -1;
  return yajl_gen_integer(g, value) == yajl_gen_status_ok ? 0 : -1;
}

/* Copies the generator's buffer out so the caller owns a plain C string. */
static char *gen_finish(yajl_gen g, int status, size_t *len) {
  const unsigned char *buf = NULL;
  size_t n = 0;
  char *out = NULL;

  if (status == 0 && yajl_gen_map_close(g) == yajl_gen_status_ok &&
      yajl_gen_get_buf(g, &buf, &n) == yajl_gen_status_ok) {
    out = secret_alloc(n + 1);
    if (out != NULL) {
      memcpy(out, buf, n);
      out[n] = 0;
      *len = n;
    }
  }
  yajl_gen_free(g);
  return out;
}

static void *gen_malloc(void *ctx, size_t size) {
  (void)ctx;
  return secret_alloc(size);
}
static void *gen_realloc(void *ctx, void *p, size_t size) {
  (void)ctx;
  return secret_realloc(p, size);
}
static void gen_free(void *ctx, void *p) {
  (void)ctx;
  secret_free(p);
}

/* Opens the object and writes the clientKey every request carries. The
 * generator's own buffers hold the key too: they come from secret memory. */
static yajl_gen gen_start(const char *client_key, int *status) {
  static yajl_alloc_funcs secret_funcs = {gen_malloc, gen_realloc, gen_free,
                                          NULL};
  yajl_gen g = yajl_gen_alloc(&secret_funcs);
  if (g == NULL)
    return NULL;
  /* Refuse invalid UTF-8 rather than send a body the API cannot parse. */
  yajl_gen_config(g, yajl_gen_validate_utf8, 1);
  *status = (yajl_gen_map_open(g) == yajl_gen_status_ok && client_key != NULL &&
             gen_pair_str(g, "clientKey", client_key) == 0)
                ? 0
                : -1;
  return g;
}

char *request_spending(const spending_request_t *req, size_t *len) {
  int status;
  yajl_gen g = gen_start(req->client_key, &status);
  if (g == NULL)
    return NULL;
  if (status == 0 && req->date > 0)
    status = gen_pair_int(g, "date", (long long)req->date);
  if (status == 0 && req->queue != NULL)
    status = gen_pair_str(g, "queue", req->queue);
  if (status == 0 && req->soft_id > 0)
    status = gen_pair_int(g, "softId", (long long)req->soft_id);
  if (status == 0 && req->ip != NULL)
    status = gen_pair_str(g, "ip", req->ip);
  return gen_finish(g, status, len);
}

char *request_balance(const char *client_key, size_t *len) {
  int status;
  yajl_gen g = gen_start(client_key, &status);
  if (g == NULL)
    return NULL;
  return gen_finish(g, status, len);
}

char *request_feedback(const char *client_key, const char *task_id,
                       bool invalid, size_t *len) {
  int status;
  if (task_id == NULL || task_id[0] == 0)
    return NULL;
  yajl_gen g = gen_start(client_key, &status);
  if (g == NULL)
    return NULL;
  if (status == 0)
    status = gen_pair_str(g, "taskId", task_id);
  if (status == 0)
    status = gen_str(g, "result") == 0 &&
                     yajl_gen_map_open(g) == yajl_gen_status_ok &&
                     gen_str(g, "invalid") == 0 &&
                     yajl_gen_bool(g, invalid) == yajl_gen_status_ok &&
                     yajl_gen_map_close(g) == yajl_gen_status_ok
                 ? 0
                 : -1;
  return gen_finish(g, status, len);
}

char *request_report(const char *client_key, uint64_t task_id, size_t *len) {
  int status;
  if (task_id == 0 || task_id > (uint64_t)INT64_MAX)
    return NULL;
  yajl_gen g = gen_start(client_key, &status);
  if (g == NULL)
    return NULL;
  if (status == 0)
    status = gen_pair_int(g, "taskId", (long long)task_id);
  return gen_finish(g, status, len);
}
