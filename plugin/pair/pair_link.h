/* The hub pair's glue: two hubs, each configured with the other's Hostname
 * (PairPeer), share the reports of one fleet. Each sends its own share at
 * once and holds the peer's back for PairHoldBack; confirmations of accepted
 * reports and heartbeats cross to the peer as notifications that collectd's
 * network plugin carries. Decisions live in plugin/hub_pair.c. */
#ifndef ANTICAPTCHA_PAIR_LINK_H
#define ANTICAPTCHA_PAIR_LINK_H

#include "config/configuration.h"
#include "model/report_match.h"
#include "reports/report_sender.h"

typedef struct pair_link_s pair_link_t;

/* Checks PairPeer against this hub's Hostname and sets the pair up, hooked
 * into the sender (config_finish() has checked the times). *out is NULL when
 * no PairPeer is configured. Returns 0, or -1 after one error line. */
int pair_link_create(const plugin_config_t *cfg, report_sender_t *sender,
                     pair_link_t **out);
/* Starts the thread that releases held reports, sends confirmations and
 * heartbeats, and registers the pair's counters. */
int pair_link_start(pair_link_t *pl);
/* Stops and joins the thread; reports still held are left to the peer. */
void pair_link_stop(pair_link_t *pl);
void pair_link_destroy(pair_link_t *pl);

/* From the notification callback, before report matching: true when n is a
 * pair message (taken in, or ignored without a pair); such a message is
 * never a report request. pl may be NULL. */
bool pair_link_intercept(pair_link_t *pl, const notification_t *n);
/* From the notification callback for a report request: true when the pair
 * holds it (the caller then does not submit it). May mark req as a takeover.
 * pl may be NULL. */
bool pair_link_route(pair_link_t *pl, report_request_t *req);

#endif
