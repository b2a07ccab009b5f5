#!/usr/bin/env bash
# tests/services/setup.sh — bring up the REAL services that oplay's module
# integration tests run against, on the CI machine itself:
#   MariaDB (127.0.0.1:3306 + /run/mysqld/mysqld.sock), memcached (127.0.0.1:11211),
#   RabbitMQ (127.0.0.1:5672), sshd (127.0.0.1:22), Keystone (uwsgi :5000),
#   Glance API (127.0.0.1:9292).  OpenStack Zed from Debian 12's own packages.
#
# Requirements: root, Debian 12, no systemd (services are started through
# `service NAME start`, i.e. the /etc/init.d scripts).
# Idempotent: a second run checks everything, changes nothing and takes seconds.
#
# Output for the tests:
#   /run/oplay-test-services.env            KEY=value lines (see README.md)
#   /run/oplay-test-services/clouds.yaml    openstacksdk format, cloud "oplay-test"
#   /run/oplay-test-services/known_hosts    sshd host keys for 127.0.0.1
# State (root only, survives re-runs): /var/lib/oplay-test-services/
#   passwords (generated on first run), ssh/id_ed25519 (key for root@127.0.0.1),
#   *.done stamps.
#
# Environment knobs:
#   OPLAY_TEST_SKIP_APT=1    never run apt-get (fail if a package is missing)
#   OPLAY_TEST_WAIT=SECONDS  how long to wait for each service (default 180)
set -euo pipefail

T_START=$(date +%s.%N)
elapsed() { awk -v s="$T_START" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }'; }
export LC_ALL=C
export DEBIAN_FRONTEND=noninteractive
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PY=/usr/bin/python3            # system python (not a pyenv shim)

STATE_DIR=/var/lib/oplay-test-services
PW_FILE=$STATE_DIR/passwords
RUN_DIR=/run/oplay-test-services
ENV_FILE=/run/oplay-test-services.env
WAIT=${OPLAY_TEST_WAIT:-180}

KS_URL=http://127.0.0.1:5000/v3
GLANCE_URL=http://127.0.0.1:9292
REGION=RegionOne

PACKAGES=(mariadb-server openssh-server rabbitmq-server memcached keystone glance
          python3-pymysql python3-venv curl ca-certificates)

CHANGES=()                     # human readable list of what this run changed
note_change() { CHANGES+=("$*"); echo "  * $*"; }
log() { printf '[%6.1fs] %s\n' "$(elapsed)" "$*"; }
die() { echo "setup.sh: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"

TMP=$(mktemp -d /tmp/oplay-test-services.XXXXXX)
cleanup() {
  local p
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done   # only our own background jobs
  rm -rf "$TMP"
}
trap cleanup EXIT


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

# port_open PORT  -> true when something accepts TCP connections on 127.0.0.1:PORT
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# wait_for DESCRIPTION COMMAND...  (retries COMMAND every second up to $WAIT s)
wait_for() {
  local what=$1; shift
  local i
  for ((i = 0; i < WAIT; i++)); do
    if "$@"; then return 0; fi
    sleep 1
  done
  die "timed out after ${WAIT}s waiting for $what"
}

# http_code URL -> prints the HTTP status (000 when nothing answers)
http_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" || true; }
http_is() { [ "$(http_code "$1")" = "$2" ]; }

# ini_set FILE SECTION KEY VALUE [SECTION KEY VALUE ...]
# Line-based in-place editor (keeps comments, owner and mode). Sets the first active
# KEY in SECTION (creating the section/key when missing), comments out duplicates.
# Prints "changed" when the file was modified.
ini_set() {
  local file=$1; shift
  $PY - "$file" "$@" <<'PYEOF'
import re, sys
path, args = sys.argv[1], sys.argv[2:]
with open(path) as f:
    orig = f.read()
lines = orig.splitlines()
sec_re = re.compile(r'^\s*\[([^\]]+)\]\s*$')
for i in range(0, len(args), 3):
    sec, key, val = args[i:i + 3]
    want = f'{key} = {val}'
    hdr = next((n for n, l in enumerate(lines) if sec_re.match(l) and sec_re.match(l).group(1).strip() == sec), None)
    if hdr is None:
        if lines and lines[-1].strip():
            lines.append('')
        lines += [f'[{sec}]', want]
        continue
    end = next((n for n in range(hdr + 1, len(lines)) if sec_re.match(lines[n])), len(lines))
    found = False
    for n in range(hdr + 1, end):
        m = re.match(r'^\s*([^#;\s=][^=]*?)\s*=', lines[n])
        if m and m.group(1).strip() == key:
            if not found:
                lines[n] = want
                found = True
            else:
                lines[n] = '# ' + lines[n] + '   # disabled by oplay tests/services/setup.sh'
    if not found:
        lines.insert(hdr + 1, want)
new = '\n'.join(lines) + '\n'
if new != orig:
    with open(path, 'w') as f:      # in place: keeps owner and mode
        f.write(new)
    print('changed')
PYEOF
}

# put_file PATH MODE CONTENT -> writes only when different; prints "changed" if written
put_file() {
  local path=$1 mode=$2 content=$3
  if [ -f "$path" ] && [ "$(cat "$path")" = "$content" ] && [ "$(stat -c %a "$path")" = "$mode" ]; then
    return 0
  fi
  local tmp
  tmp=$(mktemp "$path.XXXXXX")
  printf '%s\n' "$content" >"$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$path"
  echo changed
}

# json EXPR  -> evaluates python EXPR with d = json of $TMP/body, prints result ('' for None)
json() {
  $PY -c 'import json,sys
d = json.load(open(sys.argv[1]))
r = eval(sys.argv[2])
print("" if r is None else r)' "$TMP/body" "$1"
}

# ks METHOD PATH [JSON]  -> prints HTTP status, body in $TMP/body (uses $TOKEN)
ks() {
  local method=$1 path=$2 data=${3-}
  local args=(-s -m 30 -o "$TMP/body" -w '%{http_code}' -H "X-Auth-Token: $TOKEN")
  if [ "$method" = HEAD ]; then args+=(-I); else args+=(-X "$method"); fi
  if [ -n "$data" ]; then args+=(-H 'Content-Type: application/json' -d "$data"); fi
  curl "${args[@]}" "$KS_URL$path" || true
}

# get_token USER PASSWORD PROJECT -> prints the token ('' on failure)
get_token() {
  local body
  body=$($PY -c 'import json,sys
print(json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": sys.argv[1], "domain": {"name": "Default"}, "password": sys.argv[2]}}},
    "scope": {"project": {"name": sys.argv[3], "domain": {"name": "Default"}}}}}))' "$1" "$2" "$3")
  local code
  code=$(curl -s -m 30 -D "$TMP/hdr" -o /dev/null -w '%{http_code}' -X POST \
              -H 'Content-Type: application/json' -d "$body" "$KS_URL/auth/tokens" || true)
  if [ "$code" = 201 ]; then
    awk 'tolower($1)=="x-subject-token:"{print $2}' "$TMP/hdr" | tr -d '\r'
  fi
}

# quiet COMMAND...  -> runs COMMAND, shows its output only when it fails
quiet() {
  local rc=0
  "$@" >"$TMP/quiet.log" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then cat "$TMP/quiet.log" >&2; die "failed (rc $rc): $*"; fi
}

# svc NAME ACTION -> service NAME ACTION, dies with its output when it fails
svc() {
  local rc=0
  service "$1" "$2" >"$TMP/svc.log" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then cat "$TMP/svc.log" >&2; die "service $1 $2 failed (rc $rc)"; fi
}

# mysql_q SQL -> runs as MariaDB root over the unix socket
mysql_q() { mysql --protocol=socket -S /run/mysqld/mysqld.sock -u root -N -B -e "$1"; }

# bg_run NAME COMMAND...  -> runs in the background, output in $TMP/NAME.log
declare -A BG
bg_run() {
  local name=$1; shift
  ( "$@" ) >"$TMP/$name.log" 2>&1 &
  BG[$name]=$!
}
bg_wait() {
  local name=$1 rc=0
  wait "${BG[$name]}" || rc=$?
  if [ "$rc" != 0 ]; then
    cat "$TMP/$name.log" >&2
    die "$name failed (rc $rc)"
  fi
}

# --------------------------------------------------------------------------------------------
# 1. packages
# --------------------------------------------------------------------------------------------
log "packages"
missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  [ "${OPLAY_TEST_SKIP_APT:-0}" = 1 ] && die "missing packages: ${missing[*]}"
  echo "  installing: ${missing[*]}"
  # apt does not rewrite unchanged lists, so also keep our own stamp of the last update
  mkdir -p "$STATE_DIR"
  if [ -z "$(find /var/lib/apt/lists/ "$STATE_DIR/apt-update.stamp" -maxdepth 1 \
               \( -name '*Packages*' -o -name apt-update.stamp \) -mmin -60 2>/dev/null | head -1)" ]; then
    echo "  apt lists older than 1 h: apt-get update"
    if apt-get -o DPkg::Lock::Timeout=900 update -q; then
      touch "$STATE_DIR/apt-update.stamp"
    else
      echo "  WARNING: apt-get update failed (continuing with the old lists)"
    fi
  fi
  # qemu-utils on this machine is a backport (1:10.x); glance only needs "qemu-utils" (any
  # version) and must not pull qemu-system-*: --no-install-recommends, and checked below.
  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${PACKAGES[@]}"
  note_change "installed ${missing[*]}"
fi
if dpkg-query -W -f='${db:Status-Status} ${Package}\n' 'qemu-system*' 2>/dev/null | grep -q '^installed'; then
  echo "  WARNING: a qemu-system package is installed (not by this script, it never asks for one)"
fi

mkdir -p "$STATE_DIR" "$RUN_DIR"
chmod 0700 "$STATE_DIR"
chmod 0755 "$RUN_DIR"

# --------------------------------------------------------------------------------------------
# passwords (random on first run, reused afterwards)
# --------------------------------------------------------------------------------------------
touch "$PW_FILE"
chmod 0600 "$PW_FILE"
for k in ADMIN_PASS KEYSTONE_DBPASS GLANCE_DBPASS GLANCE_PASS MYSQL_TEST_PASS; do
  if ! grep -q "^$k=" "$PW_FILE"; then
    echo "$k=$($PY -c 'import secrets;print(secrets.token_hex(16))')" >>"$PW_FILE"
    note_change "generated password $k"
  fi
done
# shellcheck disable=SC1090
. "$PW_FILE"

# --------------------------------------------------------------------------------------------
# 2. memcached (127.0.0.1:11211) and RabbitMQ (127.0.0.1:5672; started in the background)
# --------------------------------------------------------------------------------------------
log "memcached"
if ! grep -qE '^-l 127\.0\.0\.1$' /etc/memcached.conf; then
  sed -i -E 's/^-l .*/-l 127.0.0.1/' /etc/memcached.conf
  grep -qE '^-l 127\.0\.0\.1$' /etc/memcached.conf || echo '-l 127.0.0.1' >>/etc/memcached.conf
  note_change "memcached: -l 127.0.0.1"
  if port_open 11211; then svc memcached restart; fi
fi
if ! port_open 11211; then
  svc memcached start
  wait_for memcached port_open 11211
  note_change "started memcached"
fi

log "rabbitmq"
RABBIT_ENV=/etc/rabbitmq/rabbitmq-env.conf
rabbit_env_want='# managed by oplay tests/services/setup.sh: listen on loopback only
NODE_IP_ADDRESS=127.0.0.1
export ERL_EPMD_ADDRESS=127.0.0.1
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"'
if [ "$(put_file "$RABBIT_ENV" 644 "$rabbit_env_want")" = changed ]; then
  note_change "wrote $RABBIT_ENV"
  if port_open 5672; then service rabbitmq-server stop >/dev/null 2>&1 || true; fi
fi
RABBIT_STARTING=0
if ! port_open 5672; then
  bg_run rabbitmq service rabbitmq-server start
  RABBIT_STARTING=1
fi

# --------------------------------------------------------------------------------------------
# 3. MariaDB (127.0.0.1:3306 + /run/mysqld/mysqld.sock, root via unix_socket)
# --------------------------------------------------------------------------------------------
log "mariadb"
mycnf='# managed by oplay tests/services/setup.sh
[mysqld]
bind-address = 127.0.0.1
port         = 3306
socket       = /run/mysqld/mysqld.sock
max_connections = 500
# a log of its own, which tests/services/report.sh shows: Debian sends it to a syslog
# that does not run here
[mysqld_safe]
log_error    = /var/log/mysql/error.log
skip_syslog'
[ -d /var/log/mysql ] || install -d -o mysql -g adm -m 2750 /var/log/mysql
if [ "$(put_file /etc/mysql/mariadb.conf.d/99-oplay-test.cnf 644 "$mycnf")" = changed ]; then
  note_change "wrote /etc/mysql/mariadb.conf.d/99-oplay-test.cnf"
  if mysqladmin --protocol=socket -u root ping >/dev/null 2>&1; then svc mariadb restart; fi
fi
if ! mysqladmin --protocol=socket -u root ping >/dev/null 2>&1; then
  svc mariadb start
  wait_for mariadb eval 'mysqladmin --protocol=socket -u root ping >/dev/null 2>&1 && port_open 3306'
  note_change "started mariadb"
fi

# databases and users (all statements are idempotent)
mysql_user() { # DB USER PASS
  local db=$1 user=$2 pass=$3 h
  local sql="CREATE DATABASE IF NOT EXISTS \`$db\`;"
  for h in localhost 127.0.0.1; do
    sql+="CREATE USER IF NOT EXISTS '$user'@'$h' IDENTIFIED BY '$pass';"
    sql+="ALTER USER '$user'@'$h' IDENTIFIED BY '$pass';"
    sql+="GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'$h';"
  done
  mysql_q "$sql"
}
existing_dbs=$(mysql_q "SHOW DATABASES")
for db in keystone glance; do
  grep -qx "$db" <<<"$existing_dbs" || note_change "created database $db"
done
mysql_user keystone keystone "$KEYSTONE_DBPASS"
mysql_user glance glance "$GLANCE_DBPASS"
# an all-privileges, password-authenticated account for tests that cannot use the root socket
mysql_q "$(for h in localhost 127.0.0.1; do
  echo "CREATE USER IF NOT EXISTS 'oplay_test'@'$h' IDENTIFIED BY '$MYSQL_TEST_PASS';"
  echo "ALTER USER 'oplay_test'@'$h' IDENTIFIED BY '$MYSQL_TEST_PASS';"
  echo "GRANT ALL PRIVILEGES ON *.* TO 'oplay_test'@'$h' WITH GRANT OPTION;"
done)"

# --------------------------------------------------------------------------------------------
# 4. configuration files (Keystone, Glance)
# --------------------------------------------------------------------------------------------
log "keystone/glance config"
KS_RESTART=0 GL_RESTART=0
if [ "$(ini_set /etc/keystone/keystone.conf \
        database connection "mysql+pymysql://keystone:$KEYSTONE_DBPASS@127.0.0.1/keystone" \
        token provider fernet)" = changed ]; then
  note_change "edited /etc/keystone/keystone.conf"; KS_RESTART=1
fi
# One line per HTTP request in a log of its own (uwsgi's default request lines in keystone.log
# carry no User-Agent), so that a test can count e.g. its own POST /v3/auth/tokens.
KS_REQ_LOG=/var/log/keystone/keystone-requests.log
[ -f "$KS_REQ_LOG" ] || install -o keystone -g keystone -m 0644 /dev/null "$KS_REQ_LOG"
# One thread per uwsgi worker (Debian's default is 32): Zed's oslo.log swaps logging's locks
# for eventlet's once eventlet is imported (oslo.concurrency does), and eventlet locks shared
# by native threads deadlock ("greenlet.error: cannot switch to a different thread"), after
# which the worker never answers again.
if [ "$(ini_set /etc/keystone/keystone-uwsgi.ini \
        uwsgi threads 1 \
        uwsgi plugins python3,apparmor,logfile \
        uwsgi req-logger "file:$KS_REQ_LOG" \
        uwsgi log-format '%(ltime) %(addr) %(method) %(uri) %(status) %(rsize)B %(msecs)ms pid=%(pid) ua="%(uagent)"')" = changed ]; then
  note_change "edited /etc/keystone/keystone-uwsgi.ini (request log $KS_REQ_LOG)"; KS_RESTART=1
fi
if [ "$(ini_set /etc/glance/glance-api.conf \
        DEFAULT bind_host 127.0.0.1 \
        DEFAULT bind_port 9292 \
        database connection "mysql+pymysql://glance:$GLANCE_DBPASS@127.0.0.1/glance" \
        keystone_authtoken www_authenticate_uri http://127.0.0.1:5000 \
        keystone_authtoken auth_url http://127.0.0.1:5000 \
        keystone_authtoken memcached_servers 127.0.0.1:11211 \
        keystone_authtoken auth_type password \
        keystone_authtoken project_domain_name Default \
        keystone_authtoken user_domain_name Default \
        keystone_authtoken project_name service \
        keystone_authtoken username glance \
        keystone_authtoken password "$GLANCE_PASS" \
        keystone_authtoken region_name "$REGION" \
        paste_deploy flavor keystone \
        glance_store stores file,http \
        glance_store default_store file \
        glance_store filesystem_store_datadir /var/lib/glance/images/)" = changed ]; then
  note_change "edited /etc/glance/glance-api.conf"; GL_RESTART=1
fi
[ -d /var/lib/glance/images ] || install -d -o glance -g glance -m 0750 /var/lib/glance/images

# --------------------------------------------------------------------------------------------
# 5. database schemas (glance db_sync, ~40 s, runs in the background meanwhile)
# --------------------------------------------------------------------------------------------
table_count() { mysql_q "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='$1'"; }

GLANCE_SYNCING=0
if [ ! -f "$STATE_DIR/glance-db.done" ] || [ "$(table_count glance)" -lt 5 ]; then
  log "glance-manage db_sync (background)"
  bg_run glance-db su -s /bin/sh -c "glance-manage db_sync" glance
  GLANCE_SYNCING=1
fi

if [ ! -f "$STATE_DIR/keystone-db.done" ] || [ "$(table_count keystone)" -lt 5 ]; then
  log "keystone-manage db_sync"
  quiet su -s /bin/sh -c "keystone-manage db_sync" keystone
  touch "$STATE_DIR/keystone-db.done"
  note_change "keystone db_sync"
fi

# --------------------------------------------------------------------------------------------
# 6. Keystone: fernet + credential keys, bootstrap, start (uwsgi :5000)
# --------------------------------------------------------------------------------------------
log "keystone"
if [ ! -f /etc/keystone/fernet-keys/0 ]; then
  quiet keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone
  note_change "keystone fernet_setup"
fi
if [ ! -f /etc/keystone/credential-keys/0 ]; then
  quiet keystone-manage credential_setup --keystone-user keystone --keystone-group keystone
  note_change "keystone credential_setup"
fi
chown -R keystone:keystone /var/log/keystone

ks_bootstrap() {
  quiet su -s /bin/sh -c "keystone-manage bootstrap --bootstrap-password '$ADMIN_PASS' \
      --bootstrap-admin-url $KS_URL/ --bootstrap-internal-url $KS_URL/ \
      --bootstrap-public-url $KS_URL/ --bootstrap-region-id $REGION" keystone
  touch "$STATE_DIR/keystone-bootstrap.done"
}
if [ ! -f "$STATE_DIR/keystone-bootstrap.done" ]; then
  log "keystone-manage bootstrap"
  ks_bootstrap
  note_change "keystone bootstrap"
fi

if [ "$KS_RESTART" = 1 ] && http_is "$KS_URL" 200; then
  svc keystone restart
  sleep 1
  note_change "restarted keystone"
elif ! http_is "$KS_URL" 200; then
  svc keystone start
  note_change "started keystone"
fi
wait_for "keystone on $KS_URL" http_is "$KS_URL" 200

TOKEN=$(get_token admin "$ADMIN_PASS" admin)
if [ -z "$TOKEN" ]; then
  # password in the state file and in the DB disagree (e.g. state dir lost): bootstrap
  # resets the admin password, then retry
  log "admin token refused: re-running keystone-manage bootstrap"
  ks_bootstrap
  note_change "keystone bootstrap (admin password reset)"
  TOKEN=$(get_token admin "$ADMIN_PASS" admin)
  [ -n "$TOKEN" ] || die "cannot get an admin token from $KS_URL"
fi

# --------------------------------------------------------------------------------------------
# 7. Keystone objects for Glance (REST with curl; check before create)
# --------------------------------------------------------------------------------------------
log "keystone objects for glance"
code=$(ks GET "/projects?name=service&domain_id=default")
[ "$code" = 200 ] || die "GET /projects -> $code"
SERVICE_PID=$(json "d['projects'][0]['id'] if d['projects'] else None")
if [ -z "$SERVICE_PID" ]; then
  code=$(ks POST /projects '{"project": {"domain_id": "default", "name": "service", "description": "Service Project", "enabled": true}}')
  [ "$code" = 201 ] || die "POST /projects -> $code: $(cat "$TMP/body")"
  SERVICE_PID=$(json "d['project']['id']")
  note_change "keystone: project service"
fi

code=$(ks GET "/users?name=glance&domain_id=default")
[ "$code" = 200 ] || die "GET /users -> $code"
GLANCE_UID=$(json "d['users'][0]['id'] if d['users'] else None")
pw_json=$($PY -c 'import json,sys;print(json.dumps(sys.argv[1]))' "$GLANCE_PASS")
if [ -z "$GLANCE_UID" ]; then
  code=$(ks POST /users '{"user": {"name": "glance", "domain_id": "default", "password": '"$pw_json"', "enabled": true}}')
  [ "$code" = 201 ] || die "POST /users -> $code: $(cat "$TMP/body")"
  GLANCE_UID=$(json "d['user']['id']")
  note_change "keystone: user glance"
  GLANCE_USER_NEW=1
else
  GLANCE_USER_NEW=0
fi

code=$(ks GET "/roles?name=admin")
ADMIN_RID=$(json "d['roles'][0]['id'] if d['roles'] else None")
[ -n "$ADMIN_RID" ] || die "role admin not found"
code=$(ks HEAD "/projects/$SERVICE_PID/users/$GLANCE_UID/roles/$ADMIN_RID")
if [ "$code" != 204 ]; then
  code=$(ks PUT "/projects/$SERVICE_PID/users/$GLANCE_UID/roles/$ADMIN_RID")
  [ "$code" = 204 ] || die "PUT role -> $code"
  note_change "keystone: role admin for glance on service"
fi
if [ "$GLANCE_USER_NEW" = 0 ] && [ -z "$(get_token glance "$GLANCE_PASS" service)" ]; then
  code=$(ks PATCH "/users/$GLANCE_UID" '{"user": {"password": '"$pw_json"'}}')
  [ "$code" = 200 ] || die "PATCH /users/glance -> $code"
  note_change "keystone: reset glance password"
fi

code=$(ks GET "/services?type=image")
IMAGE_SID=$(json "d['services'][0]['id'] if d['services'] else None")
if [ -z "$IMAGE_SID" ]; then
  code=$(ks POST /services '{"service": {"name": "glance", "type": "image", "description": "OpenStack Image", "enabled": true}}')
  [ "$code" = 201 ] || die "POST /services -> $code"
  IMAGE_SID=$(json "d['service']['id']")
  note_change "keystone: service image (glance)"
fi
for iface in public internal admin; do
  code=$(ks GET "/endpoints?service_id=$IMAGE_SID&interface=$iface")
  [ "$code" = 200 ] || die "GET /endpoints -> $code"
  ok=$(json "sum(1 for e in d['endpoints'] if e['url'] == '$GLANCE_URL' and e['region_id'] == '$REGION')")
  other=$(json "d['endpoints'][0]['id'] if d['endpoints'] else None")
  ep='{"endpoint": {"service_id": "'$IMAGE_SID'", "interface": "'$iface'", "url": "'$GLANCE_URL'", "region_id": "'$REGION'", "enabled": true}}'
  if [ "$ok" -gt 0 ]; then
    continue
  elif [ -n "$other" ]; then
    code=$(ks PATCH "/endpoints/$other" "$ep")
    [ "$code" = 200 ] || die "PATCH /endpoints -> $code"
    note_change "keystone: fixed image $iface endpoint"
  else
    code=$(ks POST /endpoints "$ep")
    [ "$code" = 201 ] || die "POST /endpoints -> $code"
    note_change "keystone: image $iface endpoint"
  fi
done

# --------------------------------------------------------------------------------------------
# 8. Glance API (eventlet, 127.0.0.1:9292)
# --------------------------------------------------------------------------------------------
if [ "$GLANCE_SYNCING" = 1 ]; then
  log "waiting for glance-manage db_sync"
  bg_wait glance-db
  touch "$STATE_DIR/glance-db.done"
  note_change "glance db_sync"
fi
log "glance-api"
if [ "$GL_RESTART" = 1 ] && port_open 9292; then
  svc glance-api restart
  sleep 1
  note_change "restarted glance-api"
elif ! port_open 9292; then
  svc glance-api start
  note_change "started glance-api"
fi
wait_for "glance-api on $GLANCE_URL" http_is "$GLANCE_URL/" 300
# authenticated request: catches keystone_authtoken problems (e.g. region regionOne -> 500)
glance_ok() { [ "$(curl -s -m 30 -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $TOKEN" "$GLANCE_URL/v2/images")" = 200 ]; }
if ! glance_ok; then
  sleep 3
  glance_ok || die "GET $GLANCE_URL/v2/images with a token does not answer 200 (see /var/log/glance/glance-api.log)"
fi

# --------------------------------------------------------------------------------------------
# 9. sshd (127.0.0.1:22) + a key for root@127.0.0.1
# --------------------------------------------------------------------------------------------
log "sshd"
if [ "$(put_file /etc/ssh/sshd_config.d/oplay-test.conf 644 '# managed by oplay tests/services/setup.sh
ListenAddress 127.0.0.1
PermitRootLogin prohibit-password')" = changed ]; then
  note_change "wrote /etc/ssh/sshd_config.d/oplay-test.conf"
  if port_open 22; then svc ssh restart; fi
fi
install -d -m 0700 "$STATE_DIR/ssh" /root/.ssh
if [ ! -f "$STATE_DIR/ssh/id_ed25519" ]; then
  ssh-keygen -q -t ed25519 -N '' -C oplay-test-services -f "$STATE_DIR/ssh/id_ed25519"
  note_change "generated ssh key $STATE_DIR/ssh/id_ed25519"
fi
pub=$(cat "$STATE_DIR/ssh/id_ed25519.pub")
touch /root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys
if ! grep -qxF "$pub" /root/.ssh/authorized_keys; then
  echo "$pub" >>/root/.ssh/authorized_keys
  note_change "authorized the test key for root"
fi
if ! port_open 22; then
  [ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -A
  svc ssh start
  wait_for sshd port_open 22
  note_change "started sshd"
fi
known_hosts=$(for f in /etc/ssh/ssh_host_*_key.pub; do awk '{print "127.0.0.1 " $1 " " $2}' "$f"; done)
[ "$(put_file "$RUN_DIR/known_hosts" 644 "$known_hosts")" = changed ] && note_change "wrote $RUN_DIR/known_hosts"

# --------------------------------------------------------------------------------------------
# RabbitMQ: wait for the background start
# --------------------------------------------------------------------------------------------
if [ "$RABBIT_STARTING" = 1 ]; then
  log "waiting for rabbitmq-server"
  bg_wait rabbitmq
  wait_for rabbitmq port_open 5672
  note_change "started rabbitmq-server"
fi

# --------------------------------------------------------------------------------------------
# 9b. ansible-core in a virtualenv of our own: the reference for tests/facts_compare.rs
# --------------------------------------------------------------------------------------------
ANSIBLE_VENV=$STATE_DIR/venv
ANSIBLE_SPEC='ansible-core>=2.19,<2.20'
log "ansible-core venv ($ANSIBLE_VENV)"
ansible_ok() {
  [ -x "$ANSIBLE_VENV/bin/ansible" ] &&
    "$ANSIBLE_VENV/bin/python" -c 'import sys, ansible.release as r
v = tuple(int(x) for x in r.__version__.split(".")[:2])
sys.exit(0 if v == (2, 19) else 1)' 2>/dev/null
}
if ! ansible_ok; then
  [ -x "$ANSIBLE_VENV/bin/pip" ] || quiet $PY -m venv "$ANSIBLE_VENV"
  quiet "$ANSIBLE_VENV/bin/pip" install -q "$ANSIBLE_SPEC"
  ansible_ok || die "ansible-core 2.19 not usable in $ANSIBLE_VENV"
  note_change "installed $ANSIBLE_SPEC into $ANSIBLE_VENV"
fi

# --------------------------------------------------------------------------------------------
# 10. connection facts for the tests
# --------------------------------------------------------------------------------------------
log "writing $ENV_FILE and $RUN_DIR/clouds.yaml"
env_content="# written by oplay tests/services/setup.sh — connection facts for the integration tests
OPLAY_TEST_SERVICES=1
OPLAY_TEST_MYSQL_SOCKET=/run/mysqld/mysqld.sock
OPLAY_TEST_MYSQL_HOST=127.0.0.1
OPLAY_TEST_MYSQL_PORT=3306
OPLAY_TEST_MYSQL_ROOT_USER=root
OPLAY_TEST_MYSQL_USER=oplay_test
OPLAY_TEST_MYSQL_PASSWORD=$MYSQL_TEST_PASS
OPLAY_TEST_KEYSTONE_URL=$KS_URL
OPLAY_TEST_KEYSTONE_LOG=/var/log/keystone/keystone.log
OPLAY_TEST_KEYSTONE_REQUEST_LOG=$KS_REQ_LOG
OPLAY_TEST_OS_AUTH_URL=$KS_URL
OPLAY_TEST_OS_USERNAME=admin
OPLAY_TEST_OS_PASSWORD=$ADMIN_PASS
OPLAY_TEST_OS_PROJECT_NAME=admin
OPLAY_TEST_OS_USER_DOMAIN_NAME=Default
OPLAY_TEST_OS_PROJECT_DOMAIN_NAME=Default
OPLAY_TEST_OS_REGION_NAME=$REGION
OPLAY_TEST_OS_CLOUD=oplay-test
OPLAY_TEST_CLOUDS_YAML=$RUN_DIR/clouds.yaml
OPLAY_TEST_GLANCE_URL=$GLANCE_URL
OPLAY_TEST_GLANCE_USERNAME=glance
OPLAY_TEST_GLANCE_PASSWORD=$GLANCE_PASS
OPLAY_TEST_GLANCE_PROJECT_NAME=service
OPLAY_TEST_GLANCE_IMAGES_DIR=/var/lib/glance/images
OPLAY_TEST_RABBITMQ_HOST=127.0.0.1
OPLAY_TEST_RABBITMQ_PORT=5672
OPLAY_TEST_RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672/
OPLAY_TEST_MEMCACHED=127.0.0.1:11211
OPLAY_TEST_SSH_HOST=127.0.0.1
OPLAY_TEST_SSH_PORT=22
OPLAY_TEST_SSH_USER=root
OPLAY_TEST_SSH_KEY=$STATE_DIR/ssh/id_ed25519
OPLAY_TEST_SSH_KNOWN_HOSTS=$RUN_DIR/known_hosts
OPLAY_TEST_ANSIBLE=$ANSIBLE_VENV/bin/ansible"
[ "$(put_file "$ENV_FILE" 600 "$env_content")" = changed ] && note_change "wrote $ENV_FILE"

clouds="# written by oplay tests/services/setup.sh
clouds:
  oplay-test:
    auth:
      auth_url: $KS_URL
      username: admin
      password: \"$ADMIN_PASS\"
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: $REGION
    interface: public
    identity_api_version: 3
    image_api_version: 2"
[ "$(put_file "$RUN_DIR/clouds.yaml" 600 "$clouds")" = changed ] && note_change "wrote $RUN_DIR/clouds.yaml"

# --------------------------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------------------------
status() { if port_open "$2"; then printf '  %-16s up    %s\n' "$1" "$3"; else printf '  %-16s DOWN  %s\n' "$1" "$3"; fi; }
echo "oplay test services:"
status mariadb 3306 "127.0.0.1:3306, /run/mysqld/mysqld.sock"
status memcached 11211 "127.0.0.1:11211"
status rabbitmq-server 5672 "127.0.0.1:5672"
status sshd 22 "127.0.0.1:22 (root, key $STATE_DIR/ssh/id_ed25519)"
status keystone 5000 "$KS_URL (admin / project admin / Default)"
status glance-api 9292 "$GLANCE_URL"
echo "  env: $ENV_FILE   clouds.yaml: $RUN_DIR/clouds.yaml (cloud oplay-test)"
if [ "${#CHANGES[@]}" -eq 0 ]; then
  echo "  no changes"
else
  echo "  ${#CHANGES[@]} change(s)"
fi
printf 'setup.sh done in %.1f s\n' "$(elapsed)"
