/* The checks of what an <Account> or <QueueStats> block gives once its
 * options are read: the URL, the transport, the key file and the key, the
 * series names; the StateFile option, and the hub pair's secret file. They
 * log only through plugin_log, so the unit tests call them directly. */
#ifndef ANTICAPTCHA_CONFIG_CHECK_H
#define ANTICAPTCHA_CONFIG_CHECK_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/configfile.h"

#include "config/settings.h"

/* 0 when url is https://, or http:// to a loopback address. */
int config_check_url(const char *url, char *why, size_t why_size);
/* Completes a URL option: default_url when none was given, trailing '/'
 * removed, then config_check_url(). Returns 0, or -1 with *why set (empty
 * when out of memory). */
int config_finish_url(char **url, const char *default_url, char *why,
                      size_t why_size);
/* Reads a key file: first line, surrounding blanks removed. Returns the key
 * in secret memory (free it with secret_free), or NULL with *why set. Only a
 * regular file, not through a symbolic link, opened without blocking.
 * *loose is set when group or others may read the file. The key is
 * checked as config_check_service_key() does for svc. */
char *config_read_service_key_file(const service_t *svc, const char *path,
                                   bool *loose, char *why, size_t why_size);
/* 0 when the len bytes at key can be a key of svc: 1 to svc->key_max
 * characters, no blank, NUL or control character. */
int config_check_service_key(const service_t *svc, const char *key, size_t len,
                             char *why, size_t why_size);
/* The same for an Anti-Captcha key (32 characters at most). */
char *config_read_key_file(const char *path, bool *loose, char *why,
                           size_t why_size);
int config_check_key(const char *key, size_t len, char *why, size_t why_size);
/* PairSecretFile: read with the rules of config_read_key_file(), the first
 * line checked by config_check_pair_secret(): PAIR_SECRET_MIN to
 * PAIR_SECRET_MAX characters, no blank, NUL or control character. */
char *config_read_pair_secret(const char *path, bool *loose, char *why,
                              size_t why_size);
int config_check_pair_secret(const char *secret, size_t len, char *why,
                             size_t why_size);
/* Logs one line and returns -1 on error. Plain http never through a Proxy;
 * VerifyPeer/VerifyHost false warn (what is at risk depends on whether a
 * key is sent). */
int config_check_transport(const api_transport_t *t, bool sends_key,
                           const char *where);
/* Two queues, or a queue and the total, must not land in one series. */
int config_check_slugs(const account_t *a, const char *where);
/* StateFile "/path" or false. Returns 0 or -1, logged. */
int config_state_file(plugin_config_t *cfg, const oconfig_item_t *o,
                      const char *where);

#endif
