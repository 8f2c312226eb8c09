#!/usr/bin/env bash
# Installs the Debian packages Opastin needs, saying what it installs.
#   scripts/system_packages.sh runtime   Finnish morphology (Voikko) for spaCy
#   scripts/system_packages.sh test      runtime + PostgreSQL, Chromium, clamd (ClamAV), Redis and HAProxy for the tests
#   scripts/system_packages.sh cluster   runtime + PostgreSQL, Redis and HAProxy (`make run-cluster`)
# Does nothing when everything is already there.
set -euo pipefail

runtime_packages=(libvoikko1 voikko-fi)
test_packages=(postgresql chromium fonts-dejavu-core clamav-daemon redis-server haproxy)
cluster_packages=(postgresql redis-server haproxy)

case "${1:-runtime}" in
  runtime) wanted=("${runtime_packages[@]}") ;;
  test) wanted=("${runtime_packages[@]}" "${test_packages[@]}") ;;
  cluster) wanted=("${runtime_packages[@]}" "${cluster_packages[@]}") ;;
  *) echo "usage: $0 [runtime|test|cluster]" >&2; exit 2 ;;
esac

missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Opastin needs these Debian packages, and this system has no apt-get: ${missing[*]}" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "Run as root or install sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi

echo "==> Installing Debian packages: ${missing[*]} (about a minute)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || { echo "Could not install the Debian packages ${missing[*]}: check the network and apt sources." >&2; exit 1; }
# The attachment tests run a clamd of their own with a test-made signature database: the
# package's services (clamd, and freshclam downloading signatures) are not wanted on a test host.
if [[ " ${missing[*]} " == *" clamav-daemon "* ]] && command -v systemctl >/dev/null 2>&1; then
  $sudo systemctl disable --now clamav-freshclam.service clamav-daemon.service clamav-daemon.socket \
    >/dev/null 2>&1 || true
fi
# The tests and `make run-cluster` run Redis and HAProxy of their own on chosen ports: the
# packages' services (Redis on 6379) are not wanted either.
for service in redis-server haproxy; do
  if [[ " ${missing[*]} " == *" $service "* ]] && command -v systemctl >/dev/null 2>&1; then
    $sudo systemctl disable --now "$service.service" >/dev/null 2>&1 || true
  fi
done
