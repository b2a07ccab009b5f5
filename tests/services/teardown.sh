#!/usr/bin/env bash
# tests/services/teardown.sh — stop the services started by setup.sh.
# Nothing is uninstalled and no data is removed: databases, Keystone/Glance objects,
# the passwords and the ssh key in /var/lib/oplay-test-services/ stay, so the next
# setup.sh only has to start the daemons again (a few seconds).
# The connection facts in /run (env file, clouds.yaml, known_hosts) are removed, so
# that tests do not mistake stopped services for running ones.
set -euo pipefail
export LC_ALL=C
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
[ "$(id -u)" = 0 ] || { echo "teardown.sh: must run as root" >&2; exit 1; }
T0=$(date +%s)

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

rm -f /run/oplay-test-services.env
rm -rf /run/oplay-test-services

# reverse order of setup.sh; "service NAME PORT"
rc=0
for sp in glance-api:9292 keystone:5000 rabbitmq-server:5672 memcached:11211 mariadb:3306 ssh:22; do
  svc=${sp%%:*} port=${sp##*:}
  if [ ! -x "/etc/init.d/$svc" ]; then
    printf '  %-16s not installed\n' "$svc"
    continue
  fi
  service "$svc" stop >/dev/null 2>&1 || true
  for _ in $(seq 30); do port_open "$port" || break; sleep 1; done
  if port_open "$port"; then
    printf '  %-16s STILL LISTENING on 127.0.0.1:%s\n' "$svc" "$port"
    rc=1
  else
    printf '  %-16s stopped\n' "$svc"
  fi
done
echo "teardown.sh done in $(($(date +%s) - T0)) s"
exit $rc
