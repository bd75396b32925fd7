/* libFuzzer target for the hub pair's message parser: what a hub does with a
 * notification that says it is a pair message (plugin/pair/pair_auth.c,
 * pair_mac.c, and hub_pair.c's kind, id list and heartbeat word). Every field
 * comes from the network: any host can send any bytes in the peer's name.
 *
 * Input: 8 bytes of the message's time (little-endian, cdtime_t), one byte of
 * flags, then host, plugin, plugin_instance, type, type_instance and message
 * separated by '\n' (each truncated as collectd does). The target aborts
 * unless:
 *   - a message that splits has 32 lowercase hex digits and a blank before
 *     its payload, and one that verifies under the key is the message signed
 *     again (the tag is a function of the fields);
 *   - the fields signed with the key, with the message's text as payload,
 *     verify to that payload, and fail once the time, a field or the tag
 *     changes;
 *   - an id list that parses formats back to the same ids, and the text
 *     formatted parses again to them (as many as fit a signed message);
 *   - the replay window, fed the times in the message, takes each time at
 *     most once, never one at or below its floor, holds at most PAIR_RECENT
 *     and never lowers its floor;
 *   - any heartbeat word leaves a pair in a state it can report.
 * Built by tests/fuzz/run.sh with clang -fsanitize=fuzzer,address,undefined
 * and libcrypto. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "pair/hub_pair.h"
#include "pair/pair_auth.h"
#include "pair/pair_mac.h"

/* The seeds in tests/fuzz/corpus/fuzz_pair_message are signed with it. */
static const char KEY[] = "fuzz-pair-secret-0123456789abcdef";
#define NOW ((cdtime_t)1700000000 << 30)

static const char *verify(const notification_t *n) {
  return pair_verify(KEY, strlen(KEY), n);
}

static void check_received(const notification_t *n) {
  (void)pair_message_kind(n);
  const char *payload = pair_split_message(n->message);
  if (payload == NULL) {
    CHECK(verify(n) == NULL);
    return;
  }
  CHECK(payload == n->message + PAIR_TAG_HEX + 1);
  for (size_t i = 0; i < PAIR_TAG_HEX; i++)
    CHECK(strchr("0123456789abcdef", n->message[i]) != NULL);
  if (verify(n) != NULL) {
    notification_t again = *n;
    char text[NOTIF_MAX_MSG_LEN];
    snprintf(text, sizeof(text), "%s", payload);
    CHECK(pair_sign(KEY, strlen(KEY), &again, text) == 0);
    CHECK(strcmp(again.message, n->message) == 0);
  }
}

static void check_signed(const notification_t *received, uint8_t flags) {
  notification_t n = *received;
  char payload[PAIR_PAYLOAD_MAX + 1];
  snprintf(payload, sizeof(payload), "%s", received->message);
  CHECK(pair_sign(KEY, strlen(KEY), &n, payload) == 0);
  const char *got = verify(&n);
  CHECK(got != NULL && strcmp(got, payload) == 0);
  notification_t changed = n;
  changed.time++;
  CHECK(verify(&changed) == NULL);
  changed = n;
  char *fields[] = {changed.host, changed.plugin, changed.plugin_instance,
                    changed.type, changed.type_instance};
  char *f = fields[(flags >> 4) % 5];
  f[0] = f[0] == 'x' ? 'y' : 'x';
  CHECK(verify(&changed) == NULL);
  changed = n;
  size_t at = flags % PAIR_TAG_HEX;
  changed.message[at] = changed.message[at] == '0' ? '1' : '0';
  CHECK(verify(&changed) == NULL);
}

static void check_ids(const char *text) {
  task_id_t ids[NOTIF_MAX_MSG_LEN / 2], back[NOTIF_MAX_MSG_LEN / 2];
  int count = pair_parse_ids(text, ids, NOTIF_MAX_MSG_LEN / 2);
  if (count < 0)
    return;
  char formatted[PAIR_PAYLOAD_MAX + 1];
  size_t done =
      pair_format_ids(ids, (size_t)count, formatted, sizeof(formatted));
  CHECK(done <= (size_t)count);
  CHECK(count == 0 || done > 0); /* one id always fits */
  int again = pair_parse_ids(formatted, back, NOTIF_MAX_MSG_LEN / 2);
  CHECK(again == (int)done);
  for (size_t i = 0; i < done; i++)
    CHECK(task_id_equal(ids[i], back[i]));
}

/* The message's bytes, eight at a time, as times near NOW. */
static void check_replay(const notification_t *n, uint8_t flags) {
  pair_replay_t r;
  cdtime_t taken[NOTIF_MAX_MSG_LEN / 2];
  size_t num_taken = 0;
  cdtime_t skew = (cdtime_t)(flags & 7) << 28;
  pair_replay_init(&r);
  size_t len = strlen(n->message);
  for (size_t i = 0; i + 2 <= len; i += 2) {
    uint16_t v;
    memcpy(&v, n->message + i, sizeof(v));
    cdtime_t t = NOW - ((cdtime_t)1 << 31) + ((cdtime_t)v << 16);
    cdtime_t floor = r.floor;
    pair_fresh_t f = pair_replay_check(&r, t, NOW, skew);
    CHECK(r.floor >= floor && r.count <= PAIR_RECENT);
    if (f != PAIR_FRESH)
      continue;
    CHECK(t > floor);
    for (size_t k = 0; k < num_taken; k++)
      CHECK(taken[k] != t);
    taken[num_taken++] = t;
  }
}

static void check_heartbeat(const char *word) {
  static hub_pair_t hp;
  static bool ready;
  if (!ready) {
    pair_params_t p = {.hold_back = (cdtime_t)5 << 30,
                       .peer_timeout = (cdtime_t)10 << 30,
                       .window = (cdtime_t)60 << 30,
                       .margin = (cdtime_t)1 << 30,
                       .max_held = 16};
    CHECK(pair_init(&hp, &p, 1, NOW) == 0);
    ready = true;
  }
  pair_heartbeat(&hp, word, NOW);
  const char *mine = pair_heartbeat_word(&hp, NOW);
  CHECK(strcmp(mine, PAIR_HEARTBEAT_ALONE) == 0 ||
        strcmp(mine, PAIR_HEARTBEAT_HOLDING) == 0 ||
        strcmp(mine, PAIR_HEARTBEAT_PAIRED) == 0);
  CHECK(pair_peer_up(&hp, NOW) == (strcmp(word, PAIR_HEARTBEAT_DOWN) != 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 9)
    return 0;
  notification_t n;
  memset(&n, 0, sizeof(n));
  memcpy(&n.time, data, 8);
  uint8_t flags = data[8];
  n.severity = NOTIF_OKAY;
  const uint8_t *p = data + 9, *end = data + size;
  fuzz_next_field(&p, end, n.host, sizeof(n.host));
  fuzz_next_field(&p, end, n.plugin, sizeof(n.plugin));
  fuzz_next_field(&p, end, n.plugin_instance, sizeof(n.plugin_instance));
  fuzz_next_field(&p, end, n.type, sizeof(n.type));
  fuzz_next_field(&p, end, n.type_instance, sizeof(n.type_instance));
  fuzz_next_field(&p, end, n.message, sizeof(n.message));

  check_received(&n);
  check_signed(&n, flags);
  const char *payload = pair_split_message(n.message);
  check_ids(payload != NULL ? payload : n.message);
  check_replay(&n, flags);
  check_heartbeat(n.type_instance);
  return 0;
}
