#!/usr/bin/env bash
# Checks the deploy assets with the tools their projects ship, then runs the
# Go tests of ./deploy (compose, Dockerfile, Kubernetes, metric names):
#
#   promtool check config / check rules / test rules   (Debian: prometheus)
#   amtool check-config                                 (Debian: prometheus-alertmanager)
#   go test ./deploy/...
#
# Missing tools are installed with apt-get (root, as on the CI machines).
# Usage: scripts/check-deploy.sh [--no-go-test]
set -euo pipefail
cd "$(dirname "$0")/.."

need() { # need TOOL PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "check-deploy: installing $2 for $1" >&2
	if [ "$(id -u)" != 0 ]; then
		echo "check-deploy: $1 missing and not root; install the Debian package $2" >&2
		exit 1
	fi
	if [ -z "${CHECK_DEPLOY_APT_UPDATED:-}" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		CHECK_DEPLOY_APT_UPDATED=1
	fi
	# The packages' services are not wanted, only their command-line tools.
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
	command -v "$1" >/dev/null 2>&1 || { echo "check-deploy: $2 did not provide $1" >&2; exit 1; }
}

need promtool prometheus
need amtool prometheus-alertmanager

# prometheus.yml names its rule files by their path inside the container;
# check it against the repository's copy of that directory.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/etc/prometheus"
cp -r deploy/prometheus/rules "$tmp/etc/prometheus/rules"
sed "s#/etc/prometheus/rules#$tmp/etc/prometheus/rules#" deploy/prometheus/prometheus.yml > "$tmp/prometheus.yml"

echo "== promtool check config"
promtool check config "$tmp/prometheus.yml"
echo "== promtool check rules"
promtool check rules deploy/prometheus/rules/*.rules.yml
echo "== promtool test rules"
promtool test rules deploy/prometheus/tests/*_test.yml
echo "== amtool check-config"
amtool check-config deploy/alertmanager/alertmanager.yml

if [ "${1:-}" != "--no-go-test" ]; then
	echo "== go test ./deploy/..."
	go test -count=1 ./deploy/...
fi
