#!/usr/bin/env bash
# tests/services/report.sh — what the machine and the test services look like
# right now: free disk and memory, load, whether Keystone, Glance and MariaDB
# answer, and the last lines of their logs. tests/run.sh prints it when a
# stage fails or overruns, so that a failed CI run says why.
#
#   report.sh            the whole report
#   report.sh --brief    one line: free disk, free memory, load
export LC_ALL=C
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

brief() {
    local disk mem load
    disk=$(df -h --output=avail / 2>/dev/null | tail -1 | tr -d ' ')
    mem=$(awk '/^MemAvailable:/ { printf "%.1fG", $2 / 1048576 }' /proc/meminfo)
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "free disk ${disk:-?}, free memory ${mem:-?}, load $load"
}

if [[ ${1-} == --brief ]]; then
    brief
    exit 0
fi

echo "---- machine: $(brief)"
df -h / /tmp /var/lib/mysql 2>/dev/null | awk '!seen[$0]++'

# answer URL -> the HTTP status and time, or what went wrong, within 10 s
answer() {
    curl -s -o /dev/null -m 10 -w '%{http_code} in %{time_total}s' "$1" 2>/dev/null || echo " (no answer within 10 s)"
}
echo "---- services"
echo "keystone  http://127.0.0.1:5000/v3  $(answer http://127.0.0.1:5000/v3)"
echo "glance    http://127.0.0.1:9292/    $(answer http://127.0.0.1:9292/)"
if command -v mysqladmin >/dev/null; then
    echo "mariadb   $(timeout 10 mysqladmin --protocol=socket -u root status 2>&1 || echo '(no answer within 10 s)')"
    timeout 10 mysql --protocol=socket -u root -e \
        "SELECT id, user, db, command, time, state, LEFT(info, 80) AS query FROM information_schema.processlist WHERE command <> 'Sleep' ORDER BY time DESC LIMIT 10" 2>&1 |
        sed -E "s/(IDENTIFIED (BY|VIA [a-z_]+ USING)|PASSWORD ?\(?) *'[^']*'?/\1 '***'/gI"
fi
ps -eo pid,etimes,pcpu,rss,stat,args --sort=-pcpu 2>/dev/null | head -12 | cut -c1-160

# tail_log FILE [N]
tail_log() {
    [[ -f $1 ]] || return 0
    echo "---- last lines of $1"
    grep -v 'password_hashing.*Truncating' "$1" | tail -n "${2:-20}" | cut -c1-300
}
tail_log /var/log/keystone/keystone-requests.log 10
tail_log /var/log/keystone/keystone.log 20
tail_log /var/log/glance/glance-api.log 10
tail_log /var/log/mysql/error.log 20
dmesg 2>/dev/null | grep -E 'Out of memory|Killed process|No space left' | tail -5
exit 0
