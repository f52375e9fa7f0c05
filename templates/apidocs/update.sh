#!/usr/bin/env bash
# Replaces the vendored Swagger UI of /docs/api with a release from the npm
# registry: ./update.sh [VERSION] (default: the one in VERSION, to re-fetch it).
#
# It takes the package with `npm pack`, which checks the tarball against the
# registry's integrity hash and runs none of the package's install scripts,
# keeps only what the page loads (the bundle and its stylesheet, gzipped
# reproducibly) and the licence files, and records the version in VERSION and
# README.md.
# Review the diff, then run the browser test:
#   go test -run 'TestBrowserAPIDocs' ./cmd/puguh/app/
set -euo pipefail
cd "$(dirname "$0")"
version=${1:-$(cat VERSION)}
[ -n "$version" ] || { echo "update.sh: no version given and none in VERSION" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "swagger-ui-dist@$version" >/dev/null)
tar -xzf "$work/swagger-ui-dist-$version.tgz" -C "$work"
pkg="$work/package"
license=$(node -p "require('$pkg/package.json').license")
[ "$license" = "Apache-2.0" ] || { echo "update.sh: swagger-ui-dist@$version is licensed $license, not Apache-2.0: review before vendoring" >&2; exit 1; }

# -n: no name or time stamp in the header, so the same release gives the same bytes.
gzip -9 -n -c "$pkg/swagger-ui-bundle.js" >swagger-ui-bundle.js.gz
gzip -9 -n -c "$pkg/swagger-ui.css" >swagger-ui.css.gz
cp "$pkg/LICENSE" LICENSE
cp "$pkg/NOTICE" NOTICE
cp "$pkg/swagger-ui-bundle.js.LICENSE.txt" THIRD-PARTY-NOTICES.txt
printf '%s\n' "$version" >VERSION
sed -i "s/^| version | \`[^\`]*\`/| version | \`$version\`/" README.md
echo "swagger-ui-dist $version vendored: $(du -cb swagger-ui-bundle.js.gz swagger-ui.css.gz | tail -1 | cut -f1) bytes gzipped"
