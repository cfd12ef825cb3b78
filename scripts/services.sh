#!/usr/bin/env bash
# services.sh makes sure the servers that the Redis, PostgreSQL and MQTT
# transport tests use are installed and running on loopback:
#
#   redis       127.0.0.1:6379   (BELLWETHER_TEST_REDIS=redis://127.0.0.1:6379/0)
#   Mosquitto   127.0.0.1:1883   (MQTT; the transport/mqtt tests start their own
#               from the same binary, and so need it installed)
#   PostgreSQL  127.0.0.1:5432   user postgres without a password from
#               loopback (BELLWETHER_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
#
# It installs what is missing with apt-get (Debian and Ubuntu), starts what
# is stopped, and leaves alone what already runs. Running it again changes
# nothing. It prints what it found and what it did. NATS needs only the
# nats-server binary, which it installs: most of its tests run a server
# inside the test process, and those that freeze a server (SIGSTOP) run
# their own nats-server.
#
# REDIS_PORT, PG_PORT, MQTT_PORT and PG_CLUSTER (default main, for a
# cluster it has to create) choose other ports; then set
# BELLWETHER_TEST_REDIS and BELLWETHER_TEST_POSTGRES to match.
set -euo pipefail

REDIS_PORT="${REDIS_PORT:-6379}"
PG_PORT="${PG_PORT:-5432}"
PG_CLUSTER="${PG_CLUSTER:-main}"
MQTT_PORT="${MQTT_PORT:-1883}"
export DEBIAN_FRONTEND=noninteractive

say() { printf 'services.sh: %s\n' "$*"; }
die() { say "error: $*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || die "run as root, or install sudo"
	SUDO=(sudo)
fi

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# redis_reply PORT: the first line redis answers to PING, if any.
redis_reply() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'PING\r\n' >&3 && IFS= read -r line <&3 && printf '%s' \"\$line\"" 2>/dev/null | tr -d '\r' || true
}

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

apt_updated=
apt_install() {
	if [ -z "$apt_updated" ]; then
		say "running apt-get update"
		"${SUDO[@]}" apt-get update -qq
		apt_updated=1
	fi
	say "installing $*"
	# A package's own attempt to start its service may fail where there is
	# no init system; this script starts the servers itself below.
	"${SUDO[@]}" apt-get install -y -qq "$@" >/dev/null
}

# --- packages -------------------------------------------------------------
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
mosquitto_bin() { command -v mosquitto 2>/dev/null || { [ -x /usr/sbin/mosquitto ] && echo /usr/sbin/mosquitto; }; }
[ -n "$(mosquitto_bin)" ] || missing+=(mosquitto)
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
if [ -z "$(pg_bindir)" ] || ! command -v pg_ctlcluster >/dev/null || ! command -v psql >/dev/null; then
	missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
	command -v apt-get >/dev/null || die "${missing[*]} missing and no apt-get here: install them with your package manager"
	apt_install "${missing[@]}"
else
	say "redis-server, PostgreSQL, Mosquitto and nats-server are installed"
fi

# --- redis ----------------------------------------------------------------
reply="$(redis_reply "$REDIS_PORT")"
case "$reply" in
+PONG*)
	say "redis is running on 127.0.0.1:$REDIS_PORT; left alone" ;;
-NOAUTH* | -WRONGPASS*)
	say "redis is running on 127.0.0.1:$REDIS_PORT with a password; left alone: put it in BELLWETHER_TEST_REDIS=redis://:PASSWORD@127.0.0.1:$REDIS_PORT/0" ;;
*)
	if port_open "$REDIS_PORT"; then
		die "something that is not redis listens on 127.0.0.1:$REDIS_PORT ($reply); free the port, or run with REDIS_PORT=another and set BELLWETHER_TEST_REDIS"
	fi
	say "starting redis-server on 127.0.0.1:$REDIS_PORT (no persistence)"
	(cd / && "${SUDO[@]}" redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no)
	for _ in $(seq 100); do
		case "$(redis_reply "$REDIS_PORT")" in +PONG*) break ;; esac
		sleep 0.1
	done
	case "$(redis_reply "$REDIS_PORT")" in
	+PONG*) say "redis is up on 127.0.0.1:$REDIS_PORT" ;;
	*) die "redis-server did not answer on 127.0.0.1:$REDIS_PORT within 10s" ;;
	esac ;;
esac

# --- Mosquitto (MQTT) -----------------------------------------------------
if port_open "$MQTT_PORT"; then
	say "something listens on 127.0.0.1:$MQTT_PORT (Mosquitto, presumably); left alone"
else
	conf=/tmp/bellwether-mosquitto-$MQTT_PORT.conf
	printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$MQTT_PORT" >"$conf"
	say "starting mosquitto on 127.0.0.1:$MQTT_PORT (anonymous, no persistence)"
	(cd / && "${SUDO[@]}" "$(mosquitto_bin)" -c "$conf" -d)
	for _ in $(seq 100); do
		port_open "$MQTT_PORT" && break
		sleep 0.1
	done
	port_open "$MQTT_PORT" || die "mosquitto did not listen on 127.0.0.1:$MQTT_PORT within 10s"
	say "mosquitto is up on 127.0.0.1:$MQTT_PORT"
fi

# --- PostgreSQL -----------------------------------------------------------
# The cluster on PG_PORT, as "version name status", from pg_lsclusters.
pg_cluster() { pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3 == p { print $1, $2, $4; exit }'; }

cluster="$(pg_cluster)"
if [ -z "$cluster" ]; then
	if port_open "$PG_PORT"; then
		say "a PostgreSQL not managed by pg_ctlcluster listens on 127.0.0.1:$PG_PORT; left alone"
	else
		ver="$(basename "$(dirname "$(pg_bindir)")")"
		if pg_lsclusters -h 2>/dev/null | awk -v v="$ver" -v c="$PG_CLUSTER" '$1 == v && $2 == c { found = 1 } END { exit !found }'; then
			die "cluster $ver/$PG_CLUSTER exists on another port; run with PG_CLUSTER=another (or PG_PORT=its port) and set BELLWETHER_TEST_POSTGRES"
		fi
		say "creating PostgreSQL cluster $ver/$PG_CLUSTER on port $PG_PORT"
		"${SUDO[@]}" pg_createcluster -p "$PG_PORT" "$ver" "$PG_CLUSTER" >/dev/null
		cluster="$(pg_cluster)"
		[ -n "$cluster" ] || die "pg_createcluster made no cluster on port $PG_PORT"
	fi
fi
if [ -n "$cluster" ]; then
	read -r ver name status <<<"$cluster"
	if [ "$status" = online ]; then
		say "PostgreSQL cluster $ver/$name is running on port $PG_PORT; left alone"
	else
		say "starting PostgreSQL cluster $ver/$name on port $PG_PORT"
		"${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start
	fi
fi
for _ in $(seq 300); do
	pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
	sleep 0.1
done
pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || die "PostgreSQL does not accept connections on 127.0.0.1:$PG_PORT within 30s"

pg_login() { PGCONNECT_TIMEOUT=5 psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -w -Atqc 'SELECT 1' >/dev/null 2>&1; }

if pg_login; then
	say "user postgres logs in over TCP on 127.0.0.1:$PG_PORT without a password"
elif [ -n "$cluster" ]; then
	read -r ver name _ <<<"$cluster"
	hba="/etc/postgresql/$ver/$name/pg_hba.conf"
	[ -f "$hba" ] || die "cannot find $hba to let user postgres in; set BELLWETHER_TEST_POSTGRES with a password instead"
	say "letting user postgres in from 127.0.0.1 and ::1 without a password (trust, at the top of $hba), then reloading"
	tmp="$(mktemp)"
	{
		echo "# Added by bellwether's scripts/services.sh for its tests: user postgres"
		echo "# from loopback without a password."
		echo "host all postgres 127.0.0.1/32 trust"
		echo "host all postgres ::1/128 trust"
		"${SUDO[@]}" cat "$hba"
	} >"$tmp"
	"${SUDO[@]}" cp "$tmp" "$hba"
	rm -f "$tmp"
	"${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" reload
	for _ in $(seq 50); do pg_login && break; sleep 0.1; done
	pg_login || die "user postgres still cannot log in over TCP; check $hba"
	say "user postgres logs in over TCP on 127.0.0.1:$PG_PORT without a password"
else
	die "user postgres cannot log in to 127.0.0.1:$PG_PORT without a password; set BELLWETHER_TEST_POSTGRES=postgres://USER:PASSWORD@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
fi

say "ready: mqtt://127.0.0.1:$MQTT_PORT BELLWETHER_TEST_REDIS=redis://127.0.0.1:$REDIS_PORT/0 BELLWETHER_TEST_POSTGRES=postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
