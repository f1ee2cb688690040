#!/usr/bin/env bash
# Re-vendor the NL Design System CSS that stek serves (see README.md beside this script).
# Fetches each package with `npm pack` into a temporary folder and copies only the CSS files
# the pages use, unchanged, plus the licence. Run from the repository root:
#   bash api/static/vendor/utrecht/vendor.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
theme_dir="$here/../voorbeeld-design-tokens"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Component packages whose class stylesheet (dist/index.css) is used.
classes=(
  document-css@3.0.1 page-layout-css@2.0.1 page-header-css@3.0.2 page-body-css@1.0.1
  page-footer-css@4.0.2 nav-bar-css@3.2.1 nav-list-css@2.0.1 skip-link-css@3.0.1
  button-css@4.0.1 button-link-css@3.0.1 action-group-css@4.0.1 alert-css@4.0.2
  badge-status-css@2.0.1 badge-counter-css@3.0.1 form-field-css@3.0.1 form-label-css@3.0.1
  form-field-description-css@3.0.1 form-field-error-message-css@3.0.1
  form-fieldset-css@3.0.1 textbox-css@4.0.1 textarea-css@4.0.1 select-css@3.0.1
  checkbox-css@3.0.1 radio-button-css@3.0.1 link-css@3.0.1 paragraph-css@4.0.1
  unordered-list-css@3.1.1 code-css@3.0.1
)
# Packages whose HTML stylesheet (dist/html/index.css: plain elements) is used: every table
# and heading is styled without classes, so markup that tests read stays as it is.
html=(table-css@3.0.1 heading-1-css@3.0.1 heading-2-css@3.0.1 heading-3-css@3.0.1)

cd "$tmp"
for spec in "${classes[@]}" "${html[@]}"; do
  npm pack --silent "@utrecht/$spec" >/dev/null
done
npm pack --silent "@nl-design-system-unstable/voorbeeld-design-tokens@7.4.1" >/dev/null
for f in *.tgz; do mkdir -p "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done

for spec in "${classes[@]}"; do
  name="${spec%@*}"; version="${spec#*@}"
  mkdir -p "$here/$name"
  cp "utrecht-$name-$version/package/dist/index.css" "$here/$name/index.css"
done
for spec in "${html[@]}"; do
  name="${spec%@*}"; version="${spec#*@}"
  mkdir -p "$here/$name"
  cp "utrecht-$name-$version/package/dist/html/index.css" "$here/$name/html.css"
done
cp "utrecht-document-css-3.0.1/package/LICENSE.md" "$here/LICENSE.md"

mkdir -p "$theme_dir"
cp nl-design-system-unstable-voorbeeld-design-tokens-7.4.1/package/dist/theme.css "$theme_dir/theme.css"
cp nl-design-system-unstable-voorbeeld-design-tokens-7.4.1/package/LICENSE.md "$theme_dir/LICENSE.md"
echo "vendored into $here and $theme_dir"
