#!/usr/bin/env bash
# Runs the same scenarios on bellwether and on the reference TypeScript
# implementation under Node.js, prints both side by side with their ratio,
# and regenerates docs/performance.md. Flags go to bench/compare (-rounds N:
# rounds of the comparison, 5 by default). It takes about five minutes,
# bench/manygroups included, which needs the NATS server on loopback :4222.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d internal/refdiff/node_modules/trimerge-sync ] || (cd internal/refdiff && npm ci --no-audit --no-fund --loglevel=error)
go run ./bench/compare -write docs/performance.md "$@"
