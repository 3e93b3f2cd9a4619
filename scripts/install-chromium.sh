#!/usr/bin/env bash
# Installs Debian's chromium (headless browser) when it is missing, for
# TestReportRendersInChromium (cmd/commpulse), which renders the HTML report
# of `commpulse report` to a PNG and checks it. Root, as on the CI machines,
# with apt-get; without root and without chromium it fails with the package
# to install.
# Usage: scripts/install-chromium.sh   (prints the browser's path)
set -euo pipefail

for bin in /usr/bin/chromium /usr/bin/chromium-browser; do
	if [ -x "$bin" ]; then
		echo "$bin"
		exit 0
	fi
done
echo "install-chromium: installing the Debian package chromium" >&2
if [ "$(id -u)" != 0 ]; then
	echo "install-chromium: chromium missing and not root; install the Debian package chromium" >&2
	exit 1
fi
DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
# Only the browser: no recommended packages (no desktop integration, no fonts beyond its dependencies).
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x /usr/bin/chromium ] || { echo "install-chromium: the package did not provide /usr/bin/chromium" >&2; exit 1; }
echo /usr/bin/chromium
