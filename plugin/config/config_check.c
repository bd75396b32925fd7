/* The checks of an <Account> or <QueueStats> once its options are read (see
 * config_check.h). */
#include "config/config_check.h"

#include "collectd/core/daemon/plugin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_option.h"
#include "model/spending.h"
#include "util/secret.h"

int config_finish_url(char **url, const char *default_url, char *why,
                      size_t why_size) {
  why[0] = 0;
  if (*url == NULL && (*url = strdup(default_url)) == NULL)
    return -1;
  size_t len = strlen(*url);
  while (len > 0 && (*url)[len - 1] == '/')
    (*url)[--len] = 0;
  return config_check_url(*url, why, why_size);
}

int config_check_url(const char *url, char *why, size_t why_size) {
  static const char https[] = "https://", http[] = "http://";
  /* Refused rather than cut: a cut URL names another endpoint. */
  if (strlen(url) > URL_MAX) {
    snprintf(why, why_size, "the URL is longer than %d characters", URL_MAX);
    return -1;
  }
  if (strncasecmp(url, https, strlen(https)) == 0)
    return url[strlen(https)] != 0 && url[strlen(https)] != '/'
               ? 0
               : (snprintf(why, why_size, "the URL has no host"), -1);
  if (strncasecmp(url, http, strlen(http)) != 0) {
    snprintf(why, why_size, "the URL must start with https://");
    return -1;
  }
  /* Plain HTTP would send the key in clear: only to this machine. */
  char host[128];
  const char *p = url + strlen(http);
  size_t n;
  /* "http://127.0.0.1:80@example.com" goes to example.com. */
  if (memchr(p, '@', strcspn(p, "/?#")) != NULL) {
    snprintf(why, why_size, "a URL must not hold a user name or password");
    return -1;
  }
  if (*p == '[') {
    n = strcspn(++p, "]");
  } else {
    n = strcspn(p, ":/?#");
  }
  if (n == 0 || n >= sizeof(host)) {
    snprintf(why, why_size, "the URL has no host");
    return -1;
  }
  memcpy(host, p, n);
  host[n] = 0;
  struct in_addr v4;
  struct in6_addr v6;
  bool loopback =
      strcasecmp(host, "localhost") == 0 ||
      (inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127) ||
      (inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6));
  if (!loopback) {
    snprintf(why, why_size,
             "plain http:// is accepted for loopback addresses only; use "
             "https://");
    return -1;
  }
  return 0;
}

/* The words of a key and of a secret: no blank, NUL or control character. */
static int check_word(const char *what, const char *s, size_t len, char *why,
                      size_t why_size) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= ' ' || c == 0x7f) {
      snprintf(why, why_size,
               "the %s holds a %s at character %zu; a %s is one word", what,
               c == 0     ? "NUL"
               : c == ' ' ? "blank"
                          : "control character",
               i + 1, what);
      return -1;
    }
  }
  return 0;
}

int config_check_key(const char *key, size_t len, char *why, size_t why_size) {
  return config_check_service_key(service_get(SERVICE_ANTI_CAPTCHA), key, len,
                                  why, why_size);
}

int config_check_service_key(const service_t *svc, const char *key, size_t len,
                             char *why, size_t why_size) {
  if (len == 0) {
    snprintf(why, why_size, "the key is empty");
    return -1;
  }
  if (len > svc->key_max) {
    snprintf(why, why_size,
             "the key is longer than the %zu characters %s issues",
             svc->key_max, svc->label);
    return -1;
  }
  return check_word("key", key, len, why, why_size);
}

int config_check_pair_secret(const char *secret, size_t len, char *why,
                             size_t why_size) {
  if (len < PAIR_SECRET_MIN || len > PAIR_SECRET_MAX) {
    snprintf(why, why_size,
             "the secret has %zu characters; give %d to %d (`openssl rand "
             "-hex 32` makes one)",
             len, PAIR_SECRET_MIN, PAIR_SECRET_MAX);
    return -1;
  }
  return check_word("secret", secret, len, why, why_size);
}

/* Reads up to the first newline (or size - 1 bytes) from a descriptor that
 * never blocks: the file is regular. Returns the bytes read, -1 on error. */
static ssize_t read_first_line(int fd, char *buf, size_t size) {
  size_t n = 0;
  while (n + 1 < size) {
    ssize_t got = read(fd, buf + n, size - 1 - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return -1;
    if (got == 0)
      break;
    if (memchr(buf + n, '\n', (size_t)got) != NULL) {
      n += (size_t)got;
      break;
    }
    n += (size_t)got;
  }
  buf[n] = 0;
  return (ssize_t)n;
}

/* Opens path without following a link and without waiting on a FIFO, and
 * refuses anything but a regular file. */
static int open_key_file(const char *path, bool *loose, char *why,
                         size_t why_size) {
  int fd =
      open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    snprintf(why, why_size, "cannot read \"%s\": %s", path,
             e == ELOOP ? "it is a symbolic link; give the file's own path, "
                          "so a link cannot send another file as the key"
                        : strerror(e));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(why, why_size,
             "\"%s\" is not a regular file (a FIFO, device or "
             "directory would hang or leak what it holds)",
             path);
    close(fd);
    return -1;
  }
  *loose = (st.st_mode & 077) != 0;
  return fd;
}

/* A secret file's first line is a service's key (svc given) or the pair's
 * secret (svc NULL). */
static int check_line(const service_t *svc, const char *s, size_t len,
                      char *why, size_t why_size) {
  return svc != NULL ? config_check_service_key(svc, s, len, why, why_size)
                     : config_check_pair_secret(s, len, why, why_size);
}

/* Reads a file holding a secret on its first line (surrounding blanks and a
 * CR trimmed) and checks it; the line goes to secret memory. */
static char *read_secret_line(const char *path, const service_t *svc,
                              bool *loose, char *why, size_t why_size) {
  const char *what = svc != NULL ? "key" : "secret";
  char line[(CLIENT_KEY_MAX > PAIR_SECRET_MAX ? CLIENT_KEY_MAX
                                              : PAIR_SECRET_MAX) +
            256];
  int fd = open_key_file(path, loose, why, why_size);
  if (fd < 0)
    return NULL;
  ssize_t n = read_first_line(fd, line, sizeof(line));
  int e = errno;
  close(fd);
  char *secret = NULL;
  if (n < 0) {
    snprintf(why, why_size, "cannot read \"%s\": %s", path, strerror(e));
    goto out;
  }
  const char *nl = memchr(line, '\n', (size_t)n);
  size_t end = nl != NULL ? (size_t)(nl - line) : (size_t)n;
  if (memchr(line, 0, end) != NULL) {
    snprintf(why, why_size, "\"%s\": the %s's line holds a NUL byte", path,
             what);
    goto out;
  }
  if (nl == NULL && (size_t)n + 1 == sizeof(line)) {
    snprintf(why, why_size,
             "\"%s\": the first line is longer than %zu "
             "characters; it cannot be a %s",
             path, sizeof(line) - 2, what);
    goto out;
  }
  /* Trim: editors add blanks and a CR; neither a key nor a secret holds
   * any. */
  size_t start = strspn(line, " \t");
  while (end > start && strchr(" \t\r", line[end - 1]) != NULL)
    end--;
  char reason[160];
  if (check_line(svc, line + start, end - start, reason, sizeof(reason)) != 0) {
    snprintf(why, why_size, "\"%s\": %s on its first line", path, reason);
    goto out;
  }
  line[end] = 0;
  secret = secret_strdup(line + start);
  if (secret == NULL)
    snprintf(why, why_size, "out of memory");
out:
  memset(line, 0, sizeof(line)); /* no copy of the secret left on the stack */
  __asm__ __volatile__("" : : "r"(line) : "memory");
  return secret;
}

char *config_read_key_file(const char *path, bool *loose, char *why,
                           size_t why_size) {
  return config_read_service_key_file(service_get(SERVICE_ANTI_CAPTCHA), path,
                                      loose, why, why_size);
}

char *config_read_service_key_file(const service_t *svc, const char *path,
                                   bool *loose, char *why, size_t why_size) {
  return read_secret_line(path, svc, loose, why, why_size);
}

char *config_read_pair_secret(const char *path, bool *loose, char *why,
                              size_t why_size) {
  return read_secret_line(path, NULL, loose, why, why_size);
}

/* Plain http never goes through a proxy (it would carry the key in clear);
 * switching verification off is allowed, but said at every start. */
int config_check_transport(const api_transport_t *t, bool sends_key,
                           const char *where) {
  if (t->proxy != NULL && t->proxy[0] != 0 && api_url_is_plain_http(t->url)) {
    CONF_ERROR(where, "Proxy",
               "a proxy would see the key: plain http:// "
               "goes to this machine directly. Remove Proxy or use https://.");
    return -1;
  }
  /* <QueueStats> sends no key, but its answers could still be forged. */
  const char *risk = sends_key ? "read the key" : "forge the API's answers";
  if (!t->verify_peer)
    WARNING("anticaptcha plugin: %s: option \"VerifyPeer\" is false: the "
            "API's certificate is not checked, so anyone on the path can %s. "
            "Use CACert instead.",
            where, risk);
  if (!t->verify_host)
    WARNING("anticaptcha plugin: %s: option \"VerifyHost\" is false: any "
            "certificate's name is accepted, so anyone on the path can %s. "
            "Use CACert instead.",
            where, risk);
  return 0;
}

/* Two queues, or a queue and the total, must not land in one series. */
int config_check_slugs(const account_t *a, const char *where) {
  char slug[SPENDING_SLUG_MAX + 1], other[SPENDING_SLUG_MAX + 1];
  for (size_t i = 0; i < a->num_queues; i++) {
    if (spending_slug(a->queues[i], slug, sizeof(slug)) != 0) {
      CONF_ERROR(where, "Queue",
                 "\"%s\" gives no usable name (at most %d "
                 "characters).",
                 a->queues[i], SPENDING_SLUG_MAX);
      return -1;
    }
    if (a->total && strcmp(slug, "all") == 0) {
      CONF_ERROR(where, "Queue",
                 "\"%s\" would share the name \"all\" with "
                 "Total.",
                 a->queues[i]);
      return -1;
    }
    for (size_t j = 0; j < i; j++) {
      spending_slug(a->queues[j], other, sizeof(other));
      if (strcmp(slug, other) == 0) {
        CONF_ERROR(where, "Queue",
                   "\"%s\" and \"%s\" would share the name "
                   "\"%s\"; list each queue once.",
                   a->queues[j], a->queues[i], slug);
        return -1;
      }
    }
  }
  return 0;
}

/* StateFile "/path" moves the state file; StateFile false turns it off. */
int config_state_file(plugin_config_t *cfg, const oconfig_item_t *o,
                      const char *where) {
  bool is_bool =
      o->values_num == 1 && o->values[0].type == OCONFIG_TYPE_BOOLEAN;
  bool is_path = o->values_num == 1 &&
                 o->values[0].type == OCONFIG_TYPE_STRING &&
                 o->values[0].value.string[0] != 0;
  if (!is_bool && !is_path) {
    CONF_ERROR(where, o->key, "takes a path, or false to keep no state.");
    return -1;
  }
  char *path = is_path ? strdup(o->values[0].value.string) : NULL;
  if (is_path && path == NULL) {
    CONF_ERROR(where, o->key, "out of memory.");
    return -1;
  }
  free(cfg->state_file);
  cfg->state_file = path;
  cfg->state_file_off = is_bool && !o->values[0].value.boolean;
  return 0;
}
