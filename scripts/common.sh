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
