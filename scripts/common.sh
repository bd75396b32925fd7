# Shared by scripts/demo and scripts/test: Debian packages and the build.
# Sourced, not run.

# Packages every build needs.
BUILD_PACKAGES="build-essential autoconf automake libtool pkg-config
  collectd-core collectd-dev libcurl4-openssl-dev libyajl-dev libssl-dev
  python3 openssl ca-certificates curl"

# Installs the Debian packages given that are not installed yet.
install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "These Debian packages are missing: ${missing[*]}; run as root or install them." >&2
    exit 1
  fi
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The daemon must not start on its own when collectd is pulled in.
  policy_added=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_added=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -n "$policy_added" ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

# Configures (once) and builds the plugin in the repository.
build_plugin() {
  if [ ! -x ./configure ]; then
    autoreconf -fi >/dev/null
  fi
  # A tree configured before (by scripts/test, say) keeps its options.
  if [ ! -f Makefile ]; then
    ./configure -q "$@"
  fi
  make -j2 >/dev/null
}

# Makefile.am's TIMING_TESTS, file names only (test_faults.py ...), read
# from Makefile.am itself: no configured tree needed.
timing_tests() {
  sed -n '/^TIMING_TESTS *=/,/[^\\]$/p' Makefile.am | grep -o 'test_[a-z0-9_]*\.py'
}

# ---- Stages (scripts/test): each stage's start, end and time, printed as a
# table when the run ends, whatever the outcome. Stages run in the
# foreground (stage) or beside the others (stage_bg, then stage_wait).
# Scripts started from a stage add rows of their own (scripts/test-distros).
#
#   stages_begin                 # once: the clock starts, the table is kept
#   stage NAME command...        # runs it, output to the terminal
#   stage_bg NAME command...     # starts it, output to a log of its own
#   stage_wait NAME...           # waits, shows each log; fails if one failed
#
# Every command runs as a process of its own (a function too), so `set -e`
# holds inside it: bash ignores -e in a function called as `f || rc=$?`.
stages_begin() {
  STAGE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/collectd-anticaptcha-stages.XXXXXX")
  STAGE_FILE=$STAGE_DIR/stages.tsv
  STAGE_T0=$(date +%s)
  export STAGE_FILE STAGE_T0
  declare -gA STAGE_PID=()
  trap 'stage_table; rm -rf "$STAGE_DIR"' EXIT
}

# stage_record NAME START_EPOCH STATUS: one row of the table.
stage_record() {
  [ -n "${STAGE_FILE:-}" ] || return 0
  printf '%s\t%d\t%d\t%s\n' "$1" $(($2 - STAGE_T0)) $(($(date +%s) - STAGE_T0)) \
    "$3" >>"$STAGE_FILE"
}

_stage_run() { # name command...
  local name=$1 start rc=0
  shift
  start=$(date +%s)
  "$@" &
  wait $! || rc=$?
  stage_record "$name" "$start" "$([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)")"
  return $rc
}

stage() {
  echo "==== $1 (at $(($(date +%s) - STAGE_T0)) s)"
  _stage_run "$@"
}

stage_bg() {
  local name=$1
  echo "==== $name: started beside (at $(($(date +%s) - STAGE_T0)) s)"
  _stage_run "$@" >"$STAGE_DIR/${name//[^A-Za-z0-9_.-]/_}.log" 2>&1 &
  STAGE_PID[$name]=$!
}

stage_wait() {
  local name rc=0
  for name; do
    if wait "${STAGE_PID[$name]}"; then
      echo "==== $name: done beside; its output:"
    else
      rc=1
      echo "==== $name: FAILED beside; its output:"
    fi
    cat "$STAGE_DIR/${name//[^A-Za-z0-9_.-]/_}.log"
    unset "STAGE_PID[$name]"
  done
  return $rc
}

# A process and everything it started, one pid a line.
tree_pids() {
  local child
  echo "$1"
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null || true); do
    tree_pids "$child"
  done
}

# Whether a process runs: a zombie (not reaped yet, which a container's
# init may never do) has finished.
running() {
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${stat#Z}" = "$stat" ]
}

# Stops a process and everything it started.
kill_tree() {
  # shellcheck disable=SC2046 # one pid a word
  kill $(tree_pids "$1") 2>/dev/null || true
}

# The table: stages in the order they started; start and end in seconds
# from the beginning of the run. Stages still running (the run failed
# meanwhile) are stopped first, and their clean-up (their EXIT traps) is
# waited for, up to 30 s: the check of the temporary files comes next.
stage_table() {
  local pid pids=() i
  for pid in "${STAGE_PID[@]}"; do
    mapfile -t -O "${#pids[@]}" pids < <(tree_pids "$pid")
  done
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 300 && ${#pids[@]} > 0; i++)); do
    for pid in "${!pids[@]}"; do
      running "${pids[$pid]}" || unset "pids[$pid]"
    done
    [ ${#pids[@]} -eq 0 ] || sleep 0.1
  done
  [ -s "${STAGE_FILE:-}" ] || return 0
  echo
  echo "==== Stages (seconds from the start; side-by-side stages overlap)"
  sort -t "$(printf '\t')" -k2,2n -k3,3n "$STAGE_FILE" |
    awk -F '\t' 'BEGIN {printf "%-44s %6s %6s %6s  %s\n", "stage", "start", "end", "time", "result"}
      {printf "%-44s %6d %6d %6d  %s\n", $1, $2, $3, $3 - $2, $4; if ($3 > end) end = $3}
      END {printf "%-44s %6s %6d\n", "total", "", end}'
}
