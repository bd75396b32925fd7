/* libFuzzer target for plugin/response.c, the streaming parser of API
 * answers (the bytes a server sends are attacker-controlled).
 *
 * Input: byte 0 picks the answer kind (spending, balance, report, queue
 * statistics), byte 1 the
 * chunk size libcurl would hand over (0: the whole body at once); the rest is
 * the body. Besides the sanitizers' checks, every parse must keep the
 * module's promises, or the target aborts:
 *   - the same body gives the same verdict and fields whole, in chunks and
 *     byte by byte (libcurl may split a body anywhere);
 *   - RESPONSE_OK means errorId 0 and the fields the kind needs, finite
 *     numbers, at most RESPONSE_MAX_RECORDS records, each complete, with
 *     dateTill >= dateFrom, no negative amount and no dateFrom twice;
 *   - every text field stays NUL-terminated inside its buffer;
 *   - bodies over RESPONSE_MAX_BYTES are never accepted.
 * Built by tests/fuzz/run.sh with clang -fsanitize=fuzzer,address,undefined. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/response.h"

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz_response: %s:%d: check failed: %s\n", __FILE__,    \
              __LINE__, #cond);                                                \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* The parser state is large (48 records): keep it off the stack. */
static response_t parses[3];

static void terminated(const char *buf, size_t size) {
  CHECK(memchr(buf, 0, size) != NULL);
}

/* Feeds body in chunks of `chunk` bytes (0: at once); `repeat` times over, to
 * go past the size cap cheaply. */
static response_status_t parse(response_t *r, response_kind_t kind,
                               const uint8_t *body, size_t len, size_t chunk,
                               unsigned repeat) {
  CHECK(response_init(r, kind) == 0);
  int refused = 0;
  for (unsigned k = 0; k < repeat; k++) {
    size_t off = 0;
    while (off < len) {
      size_t n = chunk == 0 ? len - off : chunk;
      if (n > len - off)
        n = len - off;
      int rc = response_feed(r, (const char *)body + off, n);
      if (refused)
        CHECK(rc == -1); /* once refused, always refused */
      refused |= rc != 0;
      off += n;
    }
  }
  response_status_t status = response_finish(r);
  response_destroy(r);
  CHECK(r->yh == NULL);
  if (refused)
    CHECK(status != RESPONSE_OK);
  return status;
}

static void check_result(const response_t *r, response_status_t status,
                         response_kind_t kind, size_t total) {
  terminated(r->error_code, sizeof(r->error_code));
  terminated(r->error_description, sizeof(r->error_description));
  terminated(r->problem, sizeof(r->problem));
  CHECK(r->num_records <= RESPONSE_MAX_RECORDS);
  if (total > RESPONSE_MAX_BYTES)
    CHECK(status == RESPONSE_TOO_LARGE || status == RESPONSE_MALFORMED);
  if (status == RESPONSE_TOO_LARGE)
    CHECK(total > RESPONSE_MAX_BYTES);
  if (status != RESPONSE_OK && status != RESPONSE_API_ERROR)
    CHECK(r->problem[0] != 0); /* the log must say why */
  if (status == RESPONSE_API_ERROR)
    CHECK(r->has_error_id && r->error_id != 0);
  if (status != RESPONSE_OK)
    return;
  /* The vendor's getQueueStats example has no errorId: figures suffice. */
  CHECK((r->has_error_id && r->error_id == 0) ||
        (kind == RESPONSE_QUEUE_STATS && r->queue.present != 0));
  if (kind == RESPONSE_QUEUE_STATS) {
    CHECK(r->queue.present != 0 && r->queue.present < (1u << QS_COUNT));
    for (int f = 0; f < QS_COUNT; f++)
      CHECK(isfinite(r->queue.value[f]) && r->queue.value[f] >= 0);
  } else {
    CHECK(r->queue.present == 0);
  }
  if (kind == RESPONSE_SPENDING)
    CHECK(r->has_data);
  if (kind == RESPONSE_BALANCE)
    CHECK(r->has_balance && isfinite(r->balance));
  for (size_t i = 0; i < r->num_records; i++) {
    const spending_record_t *a = &r->records[i];
    CHECK(a->date_till >= a->date_from);
    CHECK(isfinite(a->volume) && a->volume >= 0);
    CHECK(isfinite(a->money) && a->money >= 0);
    for (size_t j = 0; j < i; j++)
      CHECK(r->records[j].date_from != a->date_from);
  }
}

static void same(const response_t *a, response_status_t sa, const response_t *b,
                 response_status_t sb) {
  CHECK(sa == sb);
  CHECK(a->error_id == b->error_id);
  CHECK(strcmp(a->error_code, b->error_code) == 0);
  CHECK(strcmp(a->error_description, b->error_description) == 0);
  CHECK(a->num_records == b->num_records);
  if (sa == RESPONSE_OK) {
    CHECK(memcmp(a->records, b->records,
                 a->num_records * sizeof(spending_record_t)) == 0);
    CHECK(a->balance == b->balance);
    CHECK(a->queue.present == b->queue.present);
    CHECK(memcmp(a->queue.value, b->queue.value, sizeof(a->queue.value)) == 0);
  }
}

/* The number helpers take any bytes: whatever they accept is finite, and
 * what parse_int accepts is a whole number. */
static void fuzz_numbers(const uint8_t *data, size_t size) {
  double d = 0;
  int64_t v = 0;
  if (response_parse_double((const char *)data, size, &d) == 0)
    CHECK(isfinite(d));
  if (response_parse_int((const char *)data, size, &v) == 0 &&
      response_parse_double((const char *)data, size, &d) == 0)
    CHECK(d == floor(d));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  response_kind_t kind = (response_kind_t)(data[0] % 4);
  size_t chunk = data[1];
  /* A chunk size of 255 means: the body again and again, past the cap. */
  unsigned repeat = 1;
  const uint8_t *body = data + 2;
  size_t len = size - 2;
  if (chunk == 255) {
    chunk = 4096;
    repeat = len > 0 ? (unsigned)(RESPONSE_MAX_BYTES / len + 2) : 1;
    if (repeat > 70000)
      repeat = 70000;
  }
  size_t total = len * repeat;

  fuzz_numbers(body, len < 80 ? len : 80);

  response_status_t s0 = parse(&parses[0], kind, body, len, chunk, repeat);
  check_result(&parses[0], s0, kind, total);
  if (repeat == 1 && len <= RESPONSE_MAX_BYTES) {
    /* Chunking must not change the verdict. */
    response_status_t s1 = parse(&parses[1], kind, body, len, 0, 1);
    response_status_t s2 = parse(&parses[2], kind, body, len, 1, 1);
    check_result(&parses[1], s1, kind, total);
    same(&parses[0], s0, &parses[1], s1);
    same(&parses[1], s1, &parses[2], s2);
  }
  return 0;
}
