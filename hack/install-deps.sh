#!/usr/bin/env bash
# Installs the Debian packages the tests use when they are missing: the distribution
# registry (docker-registry) and htpasswd (apache2-utils). Needs root (or sudo).
set -euo pipefail
missing=()
command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v htpasswd >/dev/null || missing+=(apache2-utils)
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: docker-registry and htpasswd are installed"
  exit 0
fi
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
