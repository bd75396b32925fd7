/* Signed pair messages: text, MAC input and replay window (pair_auth.h). */
#include "pair/pair_auth.h"

static size_t put_be(unsigned char *p, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; i++)
    p[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
  return bytes;
}

/* A field as its length and its bytes; a field is at most its buffer's
 * size, and the message's part at most NOTIF_MAX_MSG_LEN, so it fits. */
static size_t put_field(unsigned char *p, const char *s, size_t max) {
  size_t len = strnlen(s, max);
  size_t n = put_be(p, len, 2);
  memcpy(p + n, s, len);
  return n + len;
}

size_t pair_mac_input(const notification_t *n, const char *payload,
                      unsigned char buf[PAIR_MAC_INPUT_MAX]) {
  size_t used = sizeof(PAIR_MAC_LABEL);
  memcpy(buf, PAIR_MAC_LABEL, used); /* with its NUL: the label ends there */
  used += put_be(buf + used, n->time, 8);
  used += put_be(buf + used, (uint32_t)n->severity, 4);
  const char *fields[] = {n->host, n->plugin, n->plugin_instance, n->type,
                          n->type_instance};
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
    used += put_field(buf + used, fields[i], DATA_MAX_NAME_LEN);
  used += put_field(buf + used, payload, NOTIF_MAX_MSG_LEN);
  return used;
}

static const char hex_digits[] = "0123456789abcdef";

void pair_tag_hex(const unsigned char *mac, char hex[PAIR_TAG_HEX + 1]) {
  for (size_t i = 0; i < PAIR_TAG_BYTES; i++) {
    hex[2 * i] = hex_digits[mac[i] >> 4];
    hex[2 * i + 1] = hex_digits[mac[i] & 15];
  }
  hex[PAIR_TAG_HEX] = 0;
}

int pair_join_message(char message[NOTIF_MAX_MSG_LEN],
                      const char tag[PAIR_TAG_HEX + 1], const char *payload) {
  size_t len = strlen(payload);
  if (len > PAIR_PAYLOAD_MAX)
    return -1;
  memcpy(message, tag, PAIR_TAG_HEX);
  message[PAIR_TAG_HEX] = ' ';
  memcpy(message + PAIR_TAG_HEX + 1, payload, len + 1);
  return 0;
}

const char *pair_split_message(const char *message) {
  for (size_t i = 0; i < PAIR_TAG_HEX; i++)
    if (message[i] == 0 || strchr(hex_digits, message[i]) == NULL)
      return NULL;
  return message[PAIR_TAG_HEX] == ' ' ? message + PAIR_TAG_HEX + 1 : NULL;
}

cdtime_t pair_send_time(cdtime_t *last_sent, cdtime_t now) {
  *last_sent = now > *last_sent ? now : *last_sent + 1;
  return *last_sent;
}

void pair_replay_init(pair_replay_t *r) { memset(r, 0, sizeof(*r)); }

pair_fresh_t pair_replay_check(pair_replay_t *r, cdtime_t sent, cdtime_t now,
                               cdtime_t max_skew) {
  /* Written so that no time from the network can wrap around. */
  if (sent > now ? sent - now > max_skew : now - sent > max_skew)
    return PAIR_OFF_CLOCK;
  if (sent <= r->floor)
    return PAIR_REPLAYED;
  size_t oldest = 0;
  for (size_t i = 0; i < r->count; i++) {
    if (r->recent[i] == sent)
      return PAIR_REPLAYED;
    if (r->recent[i] < r->recent[oldest])
      oldest = i;
  }
  if (r->count < PAIR_RECENT) {
    r->recent[r->count++] = sent;
    return PAIR_FRESH;
  }
  /* Full: older than every time kept, it cannot be told from a replay. */
  if (sent < r->recent[oldest])
    return PAIR_REPLAYED;
  r->floor = r->recent[oldest];
  r->recent[oldest] = sent;
  return PAIR_FRESH;
}
