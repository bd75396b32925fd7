/* Drives a libcurl multi handle by events (the multi_socket API over epoll):
 * the one way the plugin runs transfers, for the readers' polls and the
 * report sender's worker. A failing epoll_ctl, epoll_wait or
 * curl_multi_socket_action is logged once and recovered from: a socket that
 * epoll would not take is polled by libcurl on short turns until it does,
 * a broken epoll set is made anew. */
#ifndef ANTICAPTCHA_MULTI_DRIVER_H
#define ANTICAPTCHA_MULTI_DRIVER_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/daemon/utils_time.h"

#include <curl/curl.h>

typedef void (*driver_done_fn)(void *ud, CURL *easy, CURLcode result);

typedef struct {
  CURLM *multi;
  const char *who; /* for the log: "the report sender", ... */
  int epoll_fd;
  int wake_fd;    /* eventfd woken by driver_wake, or -1 */
  cdtime_t timer; /* when libcurl wants to be called (mono_time.h); 0: never */
  uint8_t *sockets; /* per fd: WATCH_* bits */
  size_t num_sockets;
  size_t unwatched; /* sockets epoll refused: polled on short turns */
  c_complain_t complaint;
} multi_driver_t;

/* Hooks the driver into multi. who: a static string naming the user in log
 * lines. wakeable: also make an eventfd for driver_wake. Returns 0, or -1
 * (nothing to undo). */
int driver_init(multi_driver_t *d, CURLM *multi, const char *who,
                bool wakeable);
/* Unhooks the callbacks from the multi handle; call it before the driver
 * goes while the multi handle stays (after removing the handles). */
void driver_detach(multi_driver_t *d);
/* Closes the driver's descriptors and frees it (after curl_multi_cleanup,
 * which may still tell it about sockets, or after driver_detach). */
void driver_destroy(multi_driver_t *d);
/* Thread-safe: makes a turn waiting in another thread return. */
void driver_wake(multi_driver_t *d);
/* Waits up to timeout_ms (less when libcurl's timer is sooner) for a socket
 * or a wake-up, lets libcurl move, and calls done for every transfer that
 * ended. */
void driver_turn(multi_driver_t *d, int timeout_ms, driver_done_fn done,
                 void *ud);

#endif
