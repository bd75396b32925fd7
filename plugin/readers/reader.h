/* The spending reader: one complex read callback per account polls
 * getSpendingStats for every queue (and the total) concurrently, plus
 * getBalance, and dispatches what the answers say. */
#ifndef ANTICAPTCHA_READER_H
#define ANTICAPTCHA_READER_H

#include "config/settings.h"
#include "readers/reader_hooks.h"

/* Registers "anticaptcha/<account>" at the account's Interval; the reader
 * keeps a copy of hooks. The account must outlive the callback. Returns 0
 * or -1. */
int reader_register(const account_t *account, const reader_hooks_t *hooks);
/* Removes the account's read callback (collectd frees the reader). */
void reader_unregister(const account_t *account);

#endif
