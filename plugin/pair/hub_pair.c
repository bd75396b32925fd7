/* The hub pair's pure decisions: task ownership, hold-back, confirmations. */
#include "pair/hub_pair.h"
#include "util/wraps_on_purpose.h"

/* Confirmed ids remembered at once: the set grows from here as needed. */
#define CONFIRMED_INITIAL 16384
#define CONFIRMED_MAX (64 * CONFIRMED_INITIAL)

pair_msg_t pair_message_kind(const notification_t *n) {
  if (strcmp(n->plugin, PAIR_PLUGIN) != 0)
    return PAIR_MSG_NONE;
  if (strcmp(n->type, PAIR_TYPE_REPORTED) == 0)
    return PAIR_MSG_REPORTED;
  if (strcmp(n->type, PAIR_TYPE_HEARTBEAT) == 0)
    return PAIR_MSG_HEARTBEAT;
  return PAIR_MSG_NONE;
}

/* FNV-1a over the account's name and the task id's 8 bytes (a UUID's 16),
 * then one bit of a multiplicative mix: fixed, so both hubs (any build, any
 * byte order) agree, and a number's owner is what it was before UUIDs. */
WRAPS_ON_PURPOSE
unsigned pair_owner(const char *account, task_id_t task_id) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char *p = (const unsigned char *)account; *p != 0; p++)
    h = (h ^ *p) * 0x100000001b3ULL;
  for (int i = 0; i < 8; i++)
    h = (h ^ ((task_id.lo >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
  for (int i = 0; task_id_is_uuid(task_id) && i < 8; i++)
    h = (h ^ ((task_id.hi >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
  return (unsigned)(((h * 0x9E3779B97F4A7C15ULL) >> 63) & 1);
}

int pair_self_index(const char *self, const char *peer) {
  int c = strcmp(self, peer);
  return c == 0 ? -1 : (c < 0 ? 0 : 1);
}

int pair_init(hub_pair_t *hp, const pair_params_t *p, size_t num_accounts,
              cdtime_t now) {
  memset(hp, 0, sizeof(*hp));
  hp->p = *p;
  hp->last_heard = now;
  hp->num_accounts = num_accounts;
  hp->heap = calloc(p->max_held > 0 ? p->max_held : 1, sizeof(*hp->heap));
  hp->counters =
      calloc(num_accounts > 0 ? num_accounts : 1, sizeof(*hp->counters));
  if (hp->heap == NULL || hp->counters == NULL ||
      seen_init(&hp->confirmed, CONFIRMED_INITIAL, CONFIRMED_MAX) != 0) {
    free(hp->heap);
    free(hp->counters);
    hp->heap = NULL;
    hp->counters = NULL;
    return -1;
  }
  return 0;
}

void pair_destroy(hub_pair_t *hp) {
  free(hp->heap);
  free(hp->counters);
  if (hp->confirmed.table != NULL)
    seen_destroy(&hp->confirmed);
  hp->heap = NULL;
  hp->counters = NULL;
}

bool pair_peer_up(const hub_pair_t *hp, cdtime_t now) {
  return now < hp->last_heard + hp->p.peer_timeout;
}

bool pair_paired(const hub_pair_t *hp, cdtime_t now) {
  return pair_peer_up(hp, now) && hp->peer_sees_me;
}

bool pair_heard(hub_pair_t *hp, bool peer_sees_me, cdtime_t now) {
  bool changed = !pair_peer_up(hp, now) || peer_sees_me != hp->peer_sees_me;
  /* A peer that was down does not see us whatever it last said. */
  hp->last_heard = now > hp->last_heard ? now : hp->last_heard;
  hp->peer_sees_me = peer_sees_me;
  return changed;
}

bool pair_heartbeat(hub_pair_t *hp, const char *word, cdtime_t now) {
  if (strcmp(word, PAIR_HEARTBEAT_DOWN) == 0) {
    pair_gone(hp);
    return false;
  }
  /* Anything else unknown counts as "alone": we then hold our own share. */
  bool knows = strcmp(word, PAIR_HEARTBEAT_PAIRED) == 0;
  bool holds_ours = knows || strcmp(word, PAIR_HEARTBEAT_HOLDING) == 0;
  bool changed = pair_heard(hp, holds_ours, now);
  return changed || !knows;
}

const char *pair_heartbeat_word(const hub_pair_t *hp, cdtime_t now) {
  if (!pair_peer_up(hp, now))
    return PAIR_HEARTBEAT_ALONE;
  return hp->peer_sees_me ? PAIR_HEARTBEAT_PAIRED : PAIR_HEARTBEAT_HOLDING;
}

void pair_gone(hub_pair_t *hp) {
  hp->last_heard = 0;
  hp->peer_sees_me = false;
}

void pair_confirm(hub_pair_t *hp, size_t account, task_id_t task_id,
                  cdtime_t now) {
  /* Kept past any window the report could still be held in. */
  seen_add(&hp->confirmed, (uint32_t)account, task_id, now, now + hp->p.window);
  hp->last_heard = now > hp->last_heard ? now : hp->last_heard;
}

/* ---- The hold: a binary min-heap on release time ---- */

static void heap_swap(held_report_t *a, held_report_t *b) {
  held_report_t t = *a;
  *a = *b;
  *b = t;
}

static void heap_push(hub_pair_t *hp, const held_report_t *h) {
  size_t i = hp->count++;
  hp->heap[i] = *h;
  while (i > 0 && hp->heap[(i - 1) / 2].release > hp->heap[i].release) {
    heap_swap(&hp->heap[(i - 1) / 2], &hp->heap[i]);
    i = (i - 1) / 2;
  }
}

static void heap_pop(hub_pair_t *hp, held_report_t *out) {
  *out = hp->heap[0];
  hp->heap[0] = hp->heap[--hp->count];
  for (size_t i = 0;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < hp->count && hp->heap[l].release < hp->heap[m].release)
      m = l;
    if (r < hp->count && hp->heap[r].release < hp->heap[m].release)
      m = r;
    if (m == i)
      break;
    heap_swap(&hp->heap[i], &hp->heap[m]);
    i = m;
  }
}

static pair_route_t send_now(hub_pair_t *hp, const report_request_t *req) {
  if (req->takeover)
    hp->counters[req->account].taken_over++;
  return PAIR_SEND;
}

pair_route_t pair_route(hub_pair_t *hp, report_request_t *req,
                        const char *account_name, cdtime_t now) {
  bool own = pair_owner(account_name, req->task_id) == hp->p.self;
  bool up = pair_peer_up(hp, now);
  req->takeover = !own;
  if (!up || (own && hp->peer_sees_me))
    return send_now(hp, req);

  /* Own share while the peer does not hear us yet: it may have reported the
   * task as a survivor, and its confirmation is on its way. Half the hold,
   * so that ours reaches the peer before its own hold of our share ends. */
  cdtime_t hold = own ? hp->p.hold_back / 2 : hp->p.hold_back;
  cdtime_t release = now + hold;
  cdtime_t last = req->completed + hp->p.window;
  last = last > hp->p.margin ? last - hp->p.margin : 0;
  if (release > last)
    release = last;
  if (release <= now || hp->count >= hp->p.max_held)
    return send_now(hp, req);
  heap_push(hp, &(held_report_t){.req = *req, .release = release});
  return PAIR_HELD;
}

bool pair_next(hub_pair_t *hp, cdtime_t now, report_request_t *out) {
  bool up = pair_peer_up(hp, now);
  while (hp->count > 0 && (!up || hp->heap[0].release <= now)) {
    held_report_t h;
    heap_pop(hp, &h);
    pair_counters_t *k = &hp->counters[h.req.account];
    /* Looked up by adding: from here on the task is ours, so a confirmation
     * arriving later finds it and changes nothing. */
    if (seen_add(&hp->confirmed, (uint32_t)h.req.account, h.req.task_id, now,
                 now + hp->p.window) == SEEN_DUPLICATE) {
      k->peer_reported++;
      continue;
    }
    if (h.req.takeover)
      k->taken_over++;
    *out = h.req;
    return true;
  }
  return false;
}

/* ---- Messages ---- */

size_t pair_format_ids(const task_id_t *ids, size_t n, char *buf, size_t size) {
  size_t used = 0, done = 0;
  if (size == 0)
    return 0;
  buf[0] = 0;
  for (; done < n; done++) {
    char one[TASK_ID_TEXT_MAX + 1], text[TASK_ID_TEXT_MAX];
    int len = snprintf(one, sizeof(one), "%s%s", done > 0 ? " " : "",
                       task_id_format(ids[done], text));
    if (len < 0 || used + (size_t)len >= size)
      break;
    memcpy(buf + used, one, (size_t)len + 1);
    used += (size_t)len;
  }
  return done;
}

int pair_parse_ids(const char *text, task_id_t *ids, size_t max) {
  size_t n = 0;
  const char *p = text;
  while (*p != 0) {
    char one[TASK_ID_TEXT_MAX];
    size_t len = strcspn(p, " ");
    if (len == 0 || len >= sizeof(one) || n >= max)
      return -1;
    memcpy(one, p, len);
    one[len] = 0;
    if (task_id_parse(one, &ids[n]) != 0)
      return -1;
    n++;
    p += len;
    if (*p == ' ' && *++p == 0)
      return -1; /* a trailing blank */
  }
  return (int)n;
}
