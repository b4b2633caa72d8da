#!/usr/bin/env bash
# refresh.sh: copy the browser build of oidc-client-ts (which bundles
# jwt-decode) and both licences from e2e/node_modules into this folder, and
# record the versions in VERSION. Run it after bumping oidc-client-ts in
# e2e/package.json and `npm ci` (or `npm install`) in e2e/:
#
#	internal/demo/app/vendor/refresh.sh
#
# The demo embeds these files in the gatehouse binary (internal/demo/app.go) and
# serves them at /app/vendor/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
modules=$here/../../../../e2e/node_modules
oidc=$modules/oidc-client-ts
jwt=$modules/jwt-decode

for f in "$oidc/dist/browser/oidc-client-ts.min.js" "$oidc/LICENSE" "$jwt/LICENSE"; do
	[ -f "$f" ] || { echo "refresh.sh: $f is missing; run npm ci in e2e/ first" >&2; exit 1; }
done

version() { node -p "require(process.argv[1]).version" "$1/package.json"; }

# The published build as it is. Its source map is not shipped: a browser
# asks for it only while its developer tools are open.
cp "$oidc/dist/browser/oidc-client-ts.min.js" "$here/oidc-client-ts.min.js"
cp "$oidc/LICENSE" "$here/oidc-client-ts.LICENSE"
cp "$jwt/LICENSE" "$here/jwt-decode.LICENSE"
{
	echo "oidc-client-ts $(version "$oidc") (dist/browser/oidc-client-ts.min.js, Apache-2.0)"
	echo "jwt-decode $(version "$jwt") (bundled in it, MIT)"
	echo "sha256 $(sha256sum "$here/oidc-client-ts.min.js" | cut -d' ' -f1)"
} >"$here/VERSION"
cat "$here/VERSION"
