#!/bin/sh
# Installs Debian's chromium for the browser test of the landing page
# (exporter/page_browser_test.go). Idempotent, and never fails: without
# chromium the test skips itself.
set -u

if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo ">> chromium not installed (needs root and apt-get: apt-get install chromium); the browser test will skip"
	exit 0
fi
echo ">> installing chromium for the browser test (once)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then
	apt-get update -qq >/dev/null 2>&1
	apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1
fi
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
	echo ">> could not install chromium (try: apt-get install chromium); the browser test will skip"
fi
exit 0
