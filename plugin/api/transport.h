/* Where and how one endpoint of the API is reached: its URL, the time a
 * request may take, the proxy and the TLS trust. Accounts and <QueueStats>
 * each embed one; api_client.c reads nothing else of theirs. */
#ifndef ANTICAPTCHA_TRANSPORT_H
#define ANTICAPTCHA_TRANSPORT_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/utils_time.h"

#include <stdbool.h>
#include <strings.h>

#include "api/service.h"

typedef struct {
  const service_t *service; /* whose API it is; NULL: Anti-Captcha's */
  char *url;        /* base URL, no trailing '/'; the method is appended */
  cdtime_t timeout; /* of one request */
  char *ca_cert;    /* CACert; NULL: the system's CAs */
  char *ca_path;    /* CAPath; NULL: the system's CAs */
  char *proxy;      /* Proxy: NULL: the environment's; "": none */
  bool verify_peer, verify_host;
} api_transport_t;

/* Plain http (loopback only, see config_check_url) never goes through a
 * proxy: it would carry the key in clear. */
static inline bool api_url_is_plain_http(const char *url) {
  return strncasecmp(url, "http://", strlen("http://")) == 0;
}

#endif
