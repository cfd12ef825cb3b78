#!/usr/bin/env bash
# Runs every test of bellwether. On a fresh Debian machine it first installs
# and starts what the tests need: redis-server and PostgreSQL on loopback,
# the npm packages of the differential test, and staticcheck. It is
# idempotent: what is already installed or running is left as it is.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$(go env GOPATH)/bin:$PATH"
step() { printf '\n== %s\n' "$*"; }

step "services (redis-server, PostgreSQL)"
bash scripts/services.sh

step "npm packages for the differential and mixed-cluster tests"
if command -v npm >/dev/null; then
	(cd internal/refdiff && npm ci --no-audit --no-fund --loglevel=error)
	(cd internal/mixedtest && npm ci --no-audit --no-fund --loglevel=error)
else
	echo "npm not found: install Node.js 20 (apt-get install nodejs npm)" >&2
	exit 1
fi

step "static checks"
unformatted=$(gofmt -l $(find . -name '*.go' -not -path './internal/refdiff/node_modules/*'))
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
command -v staticcheck >/dev/null || go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
staticcheck ./...

step "root package coverage (at least 90%)"
cover=$(go test -count=1 -cover . | sed -n 's/.*coverage: \([0-9.]*\)% of statements.*/\1/p')
echo "coverage: ${cover}%"
awk -v c="$cover" 'BEGIN { exit !(c >= 90) }' || { echo "root package coverage ${cover}% is below 90%" >&2; exit 1; }

step "allocation checks (without the race detector, which changes allocation counts)"
go test -count=1 -run 'Alloc' . ./sim

step "fuzzing (each target for a bounded time; docs/security.md says how to run longer)"
# go test takes one -fuzz target per invocation. The seed corpora
# (testdata/fuzz/) already run with the plain tests below. Minimizing each
# new input for the default minute would take the whole budget. Go 1.26's
# fuzzing can report its own -fuzztime deadline as a failure, "context
# deadline exceeded" (https://go.dev/issue/75804, fixed in Go 1.27): that
# alone, with no failing input written, is not a failure of ours.
fuzz() {
	local out
	if out=$(go test -run '^$' -fuzz "^$2\$" -fuzztime "$3" -fuzzminimizetime 1s "$1" 2>&1); then
		printf '%s\n' "$out" | tail -n 1
		return 0
	fi
	printf '%s\n' "$out"
	if grep -qx '    context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
		echo "$2: only the fuzzing deadline was reported (go.dev/issue/75804); no failing input"
		return 0
	fi
	return 1
}
fuzz . FuzzParseEvent 5s
fuzz . FuzzSignedMessage 5s
fuzz . FuzzMachine 9s
fuzz ./internal/wire FuzzParse 2s
fuzz ./internal/wire FuzzAppendString 2s
fuzz ./internal/wire FuzzCompare 2s

step "tests"
go test -race -count=1 -timeout 20m ./...
