#!/usr/bin/env bash
# Measures failover times on every transport it can reach, with the default
# settings, and prints the Markdown table of docs/transports.md:
#
#   bench/failover.sh            # 5 repetitions of each measurement
#   bench/failover.sh -n 10 -only nats,redis
#
# redis and postgres are the loopback servers that scripts/services.sh
# starts (or BELLWETHER_TEST_REDIS / BELLWETHER_TEST_POSTGRES); nats runs
# embedded. Expect about a minute and a half per transport at -n 5.
set -euo pipefail
cd "$(dirname "$0")/.."
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
	args=(-n 5)
fi
exec go run ./internal/failovermeasure "${args[@]}"
