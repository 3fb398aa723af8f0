#!/bin/sh
# Purge the pages and assets a deploy changed, then wait until Cloudflare has
# purged every one of them, so that smoke tests and release notes see the new
# content.
#
#   purge-after-deploy.sh SITE_URL [GIT_RANGE]
#
# SITE_URL   the public URL of the site root, e.g. https://www.example.com
# GIT_RANGE  the commits the deploy shipped (default HEAD~1..HEAD)
#
# Files under $SITE_DIR (default public/) map to URLs below SITE_URL;
# an index.html is purged under its directory URL too. Deleted files are
# purged as well: their cached copies must go.
#
# Environment: NATS_URL (default nats://127.0.0.1:4222), NATS_CREDS (a .creds
# file, optional), PURGE_WAIT (default 5m), PURGECTL (default purgectl).
#
# Exit status is purgectl's: 0 every URL purged, 1 an intent was
# dead-lettered (the reason is printed), 3 still pending after PURGE_WAIT,
# 2 usage.
set -eu

site=${1:?usage: purge-after-deploy.sh SITE_URL [GIT_RANGE]}
range=${2:-HEAD~1..HEAD}
dir=${SITE_DIR:-public}
site=${site%/}

urls=$(git diff --name-only --no-renames "$range" -- "$dir" | while IFS= read -r f; do
	path=${f#"$dir"/}
	echo "$site/$path"
	case $path in
	index.html) echo "$site/" ;;
	*/index.html) echo "$site/${path%index.html}" ;;
	esac
done)

if [ -z "$urls" ]; then
	echo "no files changed under $dir/ in $range: nothing to purge"
	exit 0
fi

printf '%s\n' "$urls" | ${PURGECTL:-purgectl} publish -f - --urls -q \
	--source deploy --wait "${PURGE_WAIT:-5m}" ${NATS_CREDS:+--creds "$NATS_CREDS"}
