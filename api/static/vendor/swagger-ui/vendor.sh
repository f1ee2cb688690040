#!/usr/bin/env bash
# Re-vendor Swagger UI for the API explorer at /api/v1/docs (see README.md beside this script).
# Fetches swagger-ui-dist with `npm pack` and copies the bundle, its stylesheet and the licences,
# unchanged. Run from the repository root: bash api/static/vendor/swagger-ui/vendor.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version=5.36.0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "swagger-ui-dist@$version" >/dev/null
tar xzf "swagger-ui-dist-$version.tgz"
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE; do
  cp "package/$f" "$here/$f"
done
