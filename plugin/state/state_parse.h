/* Reading a state file back, whatever it holds: its bytes are fed as they
 * are read to yajl's callback parser, so memory stays within the caps
 * (state_replay.h) and a fixed few kilobytes, never in proportion to the
 * file. Comments, nesting deeper than a state file, a string or number
 * longer than any the writer makes, a record out of range: the file is
 * refused whole, with a reason. Reads version 2 (state_file.h) and version
 * 1 (0.3's single object, task ids as numbers or UUID strings). Pure. */
#ifndef ANTICAPTCHA_STATE_PARSE_H
#define ANTICAPTCHA_STATE_PARSE_H

#include "state/state_file.h"
#include "state/state_replay.h"

typedef enum {
  STATE_READ_OK,
  /* The last write was cut short (a crash): what came before it was read,
   * and why says how much was dropped. */
  STATE_READ_TORN,
  /* Not usable: *out is empty and why says why. */
  STATE_READ_DAMAGED,
} state_read_t;

/* The largest file the writer makes for states within caps: a larger one
 * is not read. */
uint64_t state_file_max_bytes(const state_caps_t *caps);

typedef struct state_parser_s state_parser_t;

/* A parser for a file of file_size bytes; NULL when memory runs out. */
state_parser_t *state_parser_new(uint64_t file_size, const state_caps_t *caps);
/* The next bytes of the file. 0, or -1 once the rest does not matter (the
 * file is refused, or its last write was cut short): finish then says. */
int state_parser_feed(state_parser_t *p, const char *buf, size_t len);
/* After the last bytes (or a -1): what the file holds, into *out
 * (initialised here; empty unless OK or TORN). */
state_read_t state_parser_finish(state_parser_t *p, state_t *out, char *why,
                                 size_t why_size);
void state_parser_free(state_parser_t *p);

/* The whole text at once (tests, the fuzzer). */
state_read_t state_parse(const char *text, size_t len, const state_caps_t *caps,
                         state_t *out, char *why, size_t why_size);

#endif
