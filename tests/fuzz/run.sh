#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang (ASan + UBSan) against
# the plugin's pure modules and runs each for N seconds (default 20), starting
# from its seed corpus in tests/fuzz/corpus/<target>/. Exits non-zero on any
# crash, sanitizer report, leak, timeout or failed check; the input that did
# it is printed (base64). The work directory (binaries, corpus copies, logs)
# is removed at the end, also after a failure, unless KEEP_TMP=1.
#
#   tests/fuzz/run.sh            # 20 s per target (what ./scripts/test runs)
#   tests/fuzz/run.sh 1800       # a longer run: 30 min per target
#   FUZZ_JOBS=2 tests/fuzz/run.sh 3600   # ... on 2 cores per target
#   KEEP_TMP=1 tests/fuzz/run.sh 600   # keep the work dir: corpus, artefacts
#
# The seed corpus is never written to; new inputs go into a temporary copy
# (merge interesting ones by hand with `<target> -merge=1 SEED_DIR NEW_DIR`).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-20}
jobs=${FUZZ_JOBS:-1}
targets="fuzz_response fuzz_report_match fuzz_state_file fuzz_pair_message"
CC=${FUZZ_CC:-clang}

if ! command -v "$CC" >/dev/null; then
  echo "tests/fuzz/run.sh: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ac-fuzz-XXXXXX")
if [ "${KEEP_TMP:-}" = 1 ]; then
  trap 'echo "tests/fuzz/run.sh: kept $work"' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi
trap 'exit 130' INT
trap 'exit 143' TERM

flags="-g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=all -fno-omit-frame-pointer
  -DHAVE_CONFIG_H -I/usr/include/collectd -Iplugin"
yajl_flags=$(pkg-config --cflags --libs yajl 2>/dev/null || echo -lyajl)

# shellcheck disable=SC2086
$CC $flags -o "$work/fuzz_response" tests/fuzz/fuzz_response.c \
  plugin/api/response.c $yajl_flags -lm
# shellcheck disable=SC2086
$CC $flags -o "$work/fuzz_report_match" tests/fuzz/fuzz_report_match.c \
  plugin/model/report_match.c plugin/model/task_id.c plugin/api/request.c \
  plugin/api/service.c plugin/util/secret.c \
  $yajl_flags
# shellcheck disable=SC2086
$CC $flags -o "$work/fuzz_state_file" tests/fuzz/fuzz_state_file.c \
  plugin/state/state_file.c plugin/state/state_index.c \
  plugin/state/state_replay.c plugin/state/state_parse.c \
  plugin/state/state_v1.c plugin/state/state_records.c plugin/state/state_fields.c \
  plugin/model/report_match.c plugin/model/task_id.c plugin/api/response.c \
  plugin/api/service.c plugin/util/grow.c $yajl_flags -lm
# The pair's messages, with libcrypto for their MAC.
crypto_flags=$(pkg-config --cflags --libs libcrypto 2>/dev/null || echo -lcrypto)
# shellcheck disable=SC2086
$CC $flags -o "$work/fuzz_pair_message" tests/fuzz/fuzz_pair_message.c \
  plugin/pair/pair_auth.c plugin/pair/pair_mac.c plugin/pair/hub_pair.c \
  plugin/reports/report_queue.c plugin/model/report_match.c \
  plugin/model/task_id.c plugin/util/mono_time.c $crypto_flags

status=0
for t in $targets; do
  corpus="$work/corpus-$t"
  mkdir -p "$corpus" "$work/artifacts-$t"
  cp tests/fuzz/corpus/$t/* "$corpus/"
  extra=()
  [ -f tests/fuzz/$t.dict ] && extra+=(-dict=tests/fuzz/$t.dict)
  # Parallel jobs write fuzz-<n>.log into the current directory.
  [ "$jobs" -gt 1 ] && extra+=(-jobs="$jobs" -workers="$jobs")
  echo "== $t: ${seconds}s, seeds: $(ls tests/fuzz/corpus/$t | wc -l)"
  started=$(date +%s)
  # -error_exitcode: any crash or failed check; -timeout: one input may not
  # take 10 s; leaks are reported by ASan (detect_leaks is on by default).
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "$work/$t" "${extra[@]}" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len=8192 -error_exitcode=77 \
      -timeout_exitcode=78 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts-$t/" "$corpus" \
      >"$work/$t.log" 2>&1; then
    echo "FAIL: $t found a problem:"
    tail -n 60 "$work/$t.log"
    [ "$jobs" -gt 1 ] && tail -n 60 fuzz-*.log 2>/dev/null || true
    for a in "$work/artifacts-$t"/*; do
      if [ -f "$a" ]; then
        echo "input $(basename "$a"), base64: $(base64 -w0 "$a")"
      fi
    done
    echo "(reproduce: build as above, then $t <the input, base64 -d>;" \
      "KEEP_TMP=1 keeps the work directory)"
    status=1
    continue
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
  echo "ok: $t: ${runs:-?} inputs in $(( $(date +%s) - started ))s, corpus $(ls "$corpus" | wc -l) files, no crash"
done
rm -f fuzz-*.log
exit $status
