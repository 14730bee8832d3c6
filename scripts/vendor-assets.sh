#!/usr/bin/env bash
# Copies the pinned front-end libraries (web-assets/package.json) from npm into
# crates/web/assets/vendor/, where the binary embeds them.
#   scripts/vendor-assets.sh          refresh the vendored files
#   scripts/vendor-assets.sh --check  fail if a vendored file differs from its npm package
set -euo pipefail
cd "$(dirname "$0")/.."
VENDOR=crates/web/assets/vendor
# file in the vendor folder <- path inside node_modules
FILES=(
  "htmx.min.js:htmx.org/dist/htmx.min.js"
  "swagger-ui-bundle.js:swagger-ui-dist/swagger-ui-bundle.js"
  "swagger-ui.css:swagger-ui-dist/swagger-ui.css"
  "leaflet.js:leaflet/dist/leaflet.js"
  "leaflet.css:leaflet/dist/leaflet.css"
  "images/layers.png:leaflet/dist/images/layers.png"
  "images/layers-2x.png:leaflet/dist/images/layers-2x.png"
  "images/marker-icon.png:leaflet/dist/images/marker-icon.png"
  "images/marker-icon-2x.png:leaflet/dist/images/marker-icon-2x.png"
  "images/marker-shadow.png:leaflet/dist/images/marker-shadow.png"
  "echarts.min.js:echarts/dist/echarts.min.js"
)
npm ci --prefix web-assets --no-audit --no-fund --ignore-scripts --silent
status=0
for entry in "${FILES[@]}"; do
  name="${entry%%:*}"
  source="web-assets/node_modules/${entry#*:}"
  if [ "${1:-}" = "--check" ]; then
    if ! cmp -s "$source" "$VENDOR/$name"; then
      echo "$VENDOR/$name differs from $source: run scripts/vendor-assets.sh" >&2
      status=1
    fi
  else
    mkdir -p "$(dirname "$VENDOR/$name")"
    cp "$source" "$VENDOR/$name"
  fi
done
[ "${1:-}" = "--check" ] && [ "$status" -eq 0 ] && echo "vendored files match web-assets/package.json"
exit "$status"
