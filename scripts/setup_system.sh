#!/usr/bin/env bash
# System libraries the project needs: OSMesa for rendering DMC pixels without a GPU.
set -euo pipefail
if ! ldconfig -p 2>/dev/null | grep -q libOSMesa; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libosmesa6 >/dev/null
  else
    echo "warning: libosmesa6 missing and not root; pixel rendering on CPU will fail" >&2
  fi
fi
