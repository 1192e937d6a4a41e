#!/bin/sh
# Prints the Kong environment for the custom plugins, to paste under `services.kong.environment` in
# docker-compose.yml: KONG_PLUGINS, KONG_PLUGINSERVER_NAMES, and one plugin-server entry (socket, start and query
# commands) per plugin. Kong >= 3.9 uses only the first plugin of each plugin-server entry, hence one per plugin.
# Kong maps an entry name to its variables by upper-casing it and turning dashes into underscores
# (kong/runloop/plugin_servers/process.lua: "pluginserver_" .. name:gsub("-", "_")).
#
# Usage: docker/plugin-server-env.sh [plugin ...]     (default: every directory under plugins/)
# spec/01-schema/deployment.spec.ts fails when docker-compose.yml and plugins/ disagree.
set -eu

ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
SERVER=/usr/local/bin/kong-plugin-server
PLUGINS_DIR=/opt/kong-plugins/dist/plugins
PREFIX=/usr/local/kong

if [ "$#" -eq 0 ]; then
  set -- $(cd "$ROOT/plugins" && for d in */; do [ -f "$d/index.ts" ] && printf '%s ' "${d%/}"; done)
fi

names=$(printf '%s,' "$@")
names=${names%,}
echo "      KONG_PLUGINS: bundled,$names"
echo "      KONG_PLUGINSERVER_NAMES: $names"
for name in "$@"; do
  var=KONG_PLUGINSERVER_$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')
  echo "      ${var}_SOCKET: $PREFIX/$name.socket"
  echo "      ${var}_START_CMD: $SERVER -d $PLUGINS_DIR --plugin $name -p $PREFIX"
  echo "      ${var}_QUERY_CMD: $SERVER -d $PLUGINS_DIR --plugin $name --dump-all-plugins"
done
