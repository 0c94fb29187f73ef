# shellcheck shell=bash
# Sourced by deploy/run.sh and deploy/test.sh: installs the Debian packages
# vigil builds against, only those that are missing. Needs root, or sudo.

VG_DEB_PACKAGES=(
  libzmq3-dev libprotobuf-c-dev protobuf-c-compiler libsodium-dev libsqlite3-dev
  libcmocka-dev libncurses-dev libjansson-dev libinih-dev pkg-config cmake gcc make
  systemd tmux python3 faketime strace clang-format tzdata
  libpq-dev postgresql-15
  libmicrohttpd-dev libgnutls28-dev libxml2-dev libcurl4-gnutls-dev libxml2-utils curl
  python3-yaml openssl python3-aiosmtpd
)

vg_install_deps() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: dpkg-query not found: these scripts expect Debian 12;" \
      "install the equivalents of: ${VG_DEB_PACKAGES[*]}" >&2
    return 1
  fi
  local missing=() p
  for p in "${VG_DEB_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "deps: all ${#VG_DEB_PACKAGES[@]} packages present"
    return 0
  fi
  vg_apt_install "${missing[@]}"
}

# What the web console's browser tests need (deploy/test.sh): Debian's
# chromium and firefox-esr, and node with npm (tests/webconsole installs
# puppeteer-core and axe-core with npm into the build tree). A node already
# on the machine (NodeSource's, say, which brings its own npm) is used as it
# is; Debian's nodejs and npm come only when there is none.
vg_install_browser_deps() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v firefox-esr >/dev/null 2>&1 || missing+=(firefox-esr)
  if ! command -v node >/dev/null 2>&1; then
    missing+=(nodejs npm)
  elif ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
  fi
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "deps: chromium $(chromium --version 2>/dev/null | awk '{print $2}')," \
      "firefox-esr $(firefox-esr --version 2>/dev/null | awk '{print $3}'), node $(node --version)," \
      "npm $(npm --version) present"
    return 0
  fi
  vg_apt_install "${missing[@]}"
}

# What tests/bench/run-all.sh compares vigil with (issues 8 and 20): the
# peers' brokers and clients. Not needed to build or test vigil; the peer
# scripts install them when missing. rabbitmq-server's package may start its
# own service on install: the peer script never uses it, it starts a node of
# its own on free ports.
VG_BENCH_PEER_PACKAGES=(mosquitto mosquitto-clients rabbitmq-server python3-pika)

vg_install_bench_peer_deps() {
  local missing=() p
  for p in "${VG_BENCH_PEER_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  [ "${#missing[@]}" -eq 0 ] || vg_apt_install "${missing[@]}"
}

# apt-get install of the packages named, as root or through sudo.
vg_apt_install() {
  local missing=("$@")
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      as_root=(sudo)
    else
      echo "deps: missing ${missing[*]}; run as root (or install sudo) to install them" >&2
      return 1
    fi
  fi
  echo "deps: installing ${missing[*]}"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}
