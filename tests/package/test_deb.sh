#!/usr/bin/env bash
# Package test, run as root: builds the Debian package from a copy of this
# tree with dpkg-buildpackage, checks its contents, installs it, finds the man
# page, runs `collectd -T` with the installed example drop-in (only the key
# file and the URL edited, as a user would) against the simulated API, and
# purges the package again, leaving the system's packages as they were.
# Prints "N passed, N failed"; exits non-zero on any failure. Its files go in
# a directory under $TMPDIR, removed at the end whatever happened (KEEP_TMP=1
# keeps it).
#
# Needs: dpkg-dev, debhelper, fakeroot, man-db, collectd-core and the build
# dependencies of debian/control (scripts/test installs them).
set -uo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
PKG=collectd-anticaptcha
export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=300)

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
check() { # check "what" command...: one test
  local what=$1; shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
summary() {
  echo "$passed passed, $failed failed"
}

if [ "$(id -u)" -ne 0 ]; then
  echo "tests/package/test_deb.sh installs a package: run it as root." >&2
  exit 1
fi
for tool in dpkg-buildpackage dh fakeroot man collectd; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
    echo "missing $tool: apt-get install dpkg-dev debhelper fakeroot man-db collectd-core" >&2
    exit 1
  }
done
COLLECTD=$(command -v collectd || echo /usr/sbin/collectd)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/collectd-anticaptcha-deb.XXXXXX")
SIM_PID=
INSTALLED=
PULLED=

# Installed packages, one "name version" a line (dpkg's status letters other
# than n, not installed, and c, only configuration files left).
package_list() {
  dpkg-query -W -f='${binary:Package} ${db:Status-Abbrev} ${Version}\n' |
    awk '$2 !~ /^.[nc]/ {print $1, $3}' | LC_ALL=C sort
}
# The package's state: "not-installed", or dpkg's status and version.
pkg_state() {
  local s
  s=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$PKG" 2>/dev/null) || s=
  case "$s" in
    "" | u* | p*) echo not-installed ;;
    *) echo "$s" ;;
  esac
}

# Purges the package, and the dependencies its installation pulled in if they
# are still automatically installed and nothing else needs them: never a
# package someone else installed, even while this test ran.
remove_package() {
  local deps=() d plan
  for d in $PULLED; do
    apt-mark showauto "$d" 2>/dev/null | grep -qx "$d" && deps+=("$d")
  done
  plan=$(apt-get -s purge "$PKG" "${deps[@]}" 2>/dev/null | awk '/^Purg /{print $2}' | sort)
  if [ ${#deps[@]} -gt 0 ] &&
     [ "$plan" != "$(printf '%s\n' "$PKG" "${deps[@]}" | sort)" ]; then
    echo "# leaving ${deps[*]} installed: removing them would remove more"
    deps=()
  fi
  apt-get purge "${APT_OPTS[@]}" "$PKG" "${deps[@]}" || dpkg --purge "$PKG"
}

cleanup() {
  local rc=$?
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
  if [ -n "$INSTALLED" ]; then
    echo "# removing $PKG (cleanup after a failure)"
    remove_package >/dev/null 2>&1
  fi
  if [ "${KEEP_TMP:-}" = 1 ]; then
    echo "# kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

VERSION=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$SRC/configure.ac")
ARCH=$(dpkg --print-architecture)
DEB=$TMP/${PKG}_${VERSION}_${ARCH}.deb
echo "# $PKG $VERSION ($ARCH), in $TMP"

# ---- Build from a copy of the tree: what a fresh clone holds (tracked and
# new files; nothing ignored, so no build products of the working tree). ----
BUILD=$TMP/$PKG-$VERSION
mkdir -p "$BUILD"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$SRC" && git ls-files -z -co --exclude-standard |
    while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -C "$BUILD" -xf -
else
  cp -a "$SRC/." "$BUILD/" # a tarball: debian/rules clean tidies it up
fi
check "the tree has debian/ and configure.ac" test -f "$BUILD/debian/control" -a -f "$BUILD/configure.ac"
check "debian/changelog is version $VERSION (configure.ac's)" \
  test "$(cd "$BUILD" && dpkg-parsechangelog -S Version)" = "$VERSION"

start=$SECONDS
if (cd "$BUILD" && dpkg-buildpackage -us -uc -b) >"$TMP/build.log" 2>&1; then
  ok "dpkg-buildpackage -us -uc -b ($((SECONDS - start)) s)"
else
  not_ok "dpkg-buildpackage -us -uc -b; the end of its log:"
  tail -n 40 "$TMP/build.log"
  summary; exit 1
fi
check "it made $(basename "$DEB")" test -f "$DEB"
[ -f "$DEB" ] || { summary; exit 1; }
# scripts/test-distros keeps each release's package.
[ -n "${DEB_OUT:-}" ] && cp "$DEB" "$DEB_OUT/"

# ---- What the package holds ----
dpkg-deb -c "$DEB" | awk '{print $NF}' | sed 's|^\./|/|' >"$TMP/contents"
# Every example README.md names, uncompressed (ready to copy), and the
# package users' README.
EXAMPLES="anticaptcha.conf threshold-alerts.conf prometheus-alerts.yml
  exec-reports.conf solver-reports.sh logparser-reports.conf
  hub-pair-a.conf hub-pair-b.conf"
for f in /usr/lib/collectd/anticaptcha.so \
         /usr/share/man/man5/collectd-anticaptcha.5.gz \
         $(printf "/usr/share/doc/$PKG/examples/%s " $EXAMPLES) \
         /usr/share/doc/$PKG/README.Debian \
         /usr/share/doc/$PKG/copyright; do
  check "the package holds $f" grep -qx "$f" "$TMP/contents"
done
for f in writers.md reports.md dashboards.md; do
  check "the package holds /usr/share/doc/$PKG/$f(.gz)" \
    grep -qxE "/usr/share/doc/$PKG/$f(\.gz)?" "$TMP/contents"
done
for f in $EXAMPLES; do
  check "README.md names the example $f" grep -qF "$f" "$SRC/README.md"
  check "README.Debian names the example $f" grep -qF "$f" "$SRC/debian/README.Debian"
done
# ... and README.md names no example the package does not ship.
for f in $(grep -oE 'conf\.d/[A-Za-z0-9._-]+' "$SRC/README.md" | sort -u); do
  check "the package ships $f, which README.md names" \
    grep -qx "/usr/share/doc/$PKG/examples/${f#conf.d/}" "$TMP/contents"
done
DASHBOARDS="graphite.json influxdb.json prometheus.json"
for f in $DASHBOARDS; do
  check "the package holds the Grafana dashboard $f" \
    grep -qx "/usr/share/$PKG/dashboards/$f" "$TMP/contents"
done
check "the package holds no libtool archive" bash -c "! grep -q '\.la$' '$TMP/contents'"
check "the package's version is $VERSION" test "$(dpkg-deb -f "$DEB" Version)" = "$VERSION"
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
echo "# Depends: $DEPENDS"
for dep in collectd-core libcurl libyajl2 libc6; do
  check "it depends on $dep" grep -q "$dep" <<<"$DEPENDS"
done

# ---- Install ----
BEFORE_STATE=$(pkg_state)
package_list >"$TMP/packages.before"
if [ "$BEFORE_STATE" != not-installed ]; then
  # Installing over it and purging would not leave the system as it was.
  echo "# SKIP install and run: $PKG is installed already ($BEFORE_STATE);"
  echo "#   remove it (apt-get purge $PKG) to run the whole package test."
  summary
  [ "$failed" -eq 0 ]; exit
fi

# What the installation adds besides the package: its runtime dependencies
# when they are missing (scripts/test has installed them: usually nothing).
PULLED=$(apt-get install -s "${APT_OPTS[@]}" "$DEB" 2>/dev/null |
  awk -v p="$PKG" '/^Inst / && $2 != p {print $2}' | tr '\n' ' ')
[ -n "$PULLED" ] && echo "# apt installs with it: $PULLED(removed again at the end)"
INSTALLED=1
if apt-get install "${APT_OPTS[@]}" "$DEB" >"$TMP/install.log" 2>&1; then
  ok "apt-get install ./$(basename "$DEB")"
else
  not_ok "apt-get install ./$(basename "$DEB"):"
  cat "$TMP/install.log"
fi
check "$PKG is installed, version $VERSION" \
  test "$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$PKG" 2>/dev/null)" = "ii $VERSION"
check "the plugin is in collectd's plugin directory" test -f /usr/lib/collectd/anticaptcha.so
for f in $EXAMPLES; do
  check "installed example $f is conf.d/$f" cmp -s "/usr/share/doc/$PKG/examples/$f" "$SRC/conf.d/$f"
done
for f in $DASHBOARDS; do
  check "installed dashboard $f is dashboards/$f" cmp -s "/usr/share/$PKG/dashboards/$f" "$SRC/dashboards/$f"
done

# ---- The man page ----
if grep -rqs 'path-exclude=/usr/share/man' /etc/dpkg/dpkg.cfg.d/; then
  echo "# note: /etc/dpkg/dpkg.cfg.d excludes /usr/share/man (a minimal image): dpkg drops man pages"
fi
MANFILE=$(man -w collectd-anticaptcha 2>/dev/null)
check "man -w collectd-anticaptcha finds it ($MANFILE)" \
  test "$MANFILE" = /usr/share/man/man5/collectd-anticaptcha.5.gz
MANPAGE=$(MANWIDTH=80 man -P cat 5 collectd-anticaptcha 2>"$TMP/man.err")
check "man 5 collectd-anticaptcha shows the options" grep -q "ClientKeyFile /path" <<<"$MANPAGE"
check "the man page's footer names version $VERSION" \
  bash -c 'tail -n 1 <<<"$1" | grep -q "^$2 "' _ "$MANPAGE" "$VERSION"
check "groff renders it without warnings" bash -c \
  "! man --warnings -P cat 5 collectd-anticaptcha 2>&1 >/dev/null | grep -q ."

# ---- The example drop-in, as a user deploys it, against the simulated API ----
mkdir -p "$TMP/etc/collectd.conf.d" "$TMP/var"
KEYFILE=$TMP/etc/anticaptcha.key
# README's two lines, in the test's directory.
install -m 0600 /dev/null "$KEYFILE"
od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$KEYFILE"
check "the key file is mode 0600" test "$(stat -c %a "$KEYFILE")" = 600

python3 "$SRC/tests/sim/anticaptcha_sim.py" --port 0 --key-file "$KEYFILE" \
  --ready-file "$TMP/sim.ready" --quiet --watch-parent >"$TMP/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 100); do
  [ -s "$TMP/sim.ready" ] || ! kill -0 "$SIM_PID" 2>/dev/null && break
  sleep 0.1
done
PORT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http_port"])' \
  "$TMP/sim.ready" 2>/dev/null)
check "the simulated API is up (port ${PORT:-none})" test -n "$PORT"

EXAMPLE=/usr/share/doc/$PKG/examples/anticaptcha.conf
DROPIN=$TMP/etc/collectd.conf.d/anticaptcha.conf
cp "$EXAMPLE" "$DROPIN"
sed -i -e "s|^\([[:space:]]*\)ClientKeyFile .*|\1ClientKeyFile \"$KEYFILE\"|" \
  -e "s|^\([[:space:]]*\)# *URL .*|\1URL \"http://127.0.0.1:$PORT\"|" "$DROPIN"
changed=$(diff "$EXAMPLE" "$DROPIN" | grep -c '^[<>]')
check "only the ClientKeyFile and URL lines were edited ($changed lines differ)" \
  test "$changed" -eq 4

# Debian's stock collectd.conf ends by including the drop-in directory. It
# comes with the "collectd" package; collectd-core ships the same file as an
# example. Take its Include block, pointed at the test's directory.
STOCK=/etc/collectd/collectd.conf
[ -f "$STOCK" ] || STOCK=/usr/share/doc/collectd-core/examples/collectd.conf
[ -f "$STOCK" ] || STOCK=$STOCK.gz
INCLUDE=$(zcat -f "$STOCK" 2>/dev/null |
  sed -n '/^<Include "\/etc\/collectd\/collectd.conf.d">/,/^<\/Include>/p')
check "Debian's collectd.conf ($STOCK) includes collectd.conf.d/*.conf" \
  grep -q 'Filter "\*.conf"' <<<"$INCLUDE"
cat >"$TMP/collectd.conf" <<EOF
# Like Debian's /etc/collectd/collectd.conf, logging to standard output and
# keeping every file in $TMP.
Hostname "package-test"
FQDNLookup false
BaseDir "$TMP/var"
PIDFile "$TMP/var/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File STDOUT
  Timestamp false
</Plugin>
${INCLUDE//\/etc\/collectd\/collectd.conf.d/$TMP/etc/collectd.conf.d}
EOF

timeout 120 "$COLLECTD" -T -C "$TMP/collectd.conf" >"$TMP/collectd.out" 2>&1
rc=$?
check "collectd -T with the drop-in exits 0" test "$rc" -eq 0
check "the plugin logs 'anticaptcha plugin: version $VERSION'" \
  grep -q "anticaptcha plugin: version $VERSION," "$TMP/collectd.out"
check "the plugin logs no error or warning" bash -c \
  "! grep -Ei 'anticaptcha.*(error|warning|fail|may be read)' '$TMP/collectd.out' | grep -q ."
polled=$(python3 - "$PORT" <<'EOF' 2>/dev/null
import json, sys, urllib.request
log = json.load(urllib.request.urlopen(
    "http://127.0.0.1:%s/_sim/requests" % sys.argv[1], timeout=10))
print(" ".join(sorted({e["method"] for e in log
                       if e["key_ok"] and e["status"] == 200})))
EOF
)
check "it polled the simulated API with the key from the file ($polled)" \
  bash -c '[[ " $1 " == *" getSpendingStats "* && " $1 " == *" getBalance "* ]]' _ "$polled"
if [ "$failed" -ne 0 ]; then
  echo "# collectd's output:"; sed 's/^/#   /' "$TMP/collectd.out"
fi
kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; SIM_PID=

# ---- Remove, and leave the system as it was ----
if remove_package >"$TMP/purge.log" 2>&1; then
  ok "apt-get purge $PKG"
  INSTALLED=
else
  not_ok "apt-get purge $PKG:"; cat "$TMP/purge.log"
fi
gone=yes
while read -r f; do
  case "$f" in */) continue ;; esac
  [ -e "$f" ] && [ ! -d "$f" ] && { echo "# left behind: $f"; gone=no; }
done <"$TMP/contents"
check "the package's files are gone" test "$gone" = yes
check "man -w collectd-anticaptcha finds nothing" bash -c "! man -w collectd-anticaptcha >/dev/null 2>&1"
check "$PKG's state is as before ($BEFORE_STATE)" test "$(pkg_state)" = "$BEFORE_STATE"
package_list >"$TMP/packages.after"
# Packages others installed meanwhile do not count: every package installed
# before is still there, in the same version, and none this test installed is.
changed=$(LC_ALL=C join -a1 -o 0,1.2,2.2 "$TMP/packages.before" "$TMP/packages.after" |
  awk '$2 != $3' | head -n 5)
left=$(cut -d' ' -f1 "$TMP/packages.after" | grep -xF -f <(printf '%s\n' "$PKG" $PULLED))
check "the installed packages are as before" test -z "$changed$left"
[ -n "$changed$left" ] && echo "# changed: ${changed:-none}; left installed: ${left:-none}"

summary
[ "$failed" -eq 0 ]
