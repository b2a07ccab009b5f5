# shellcheck shell=bash
# oplay lab: settings and helpers shared by lab.sh and lib/*.sh.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$LAB_DIR/.." && pwd)
STATE_DIR=${OPLAY_LAB_STATE:-$LAB_DIR/.state}          # keys, cirros, logs (gitignored)
CACHE_DIR=${OPLAY_LAB_CACHE:-/var/cache/oplay-lab}     # apt cache shared by the hosts
INV_DIR=$REPO_DIR/inventory/lab

NET_NAME=oplay-lab
NET_SUBNET=10.87.0.0/24
NET_GATEWAY=10.87.0.1
NET_BRIDGE=oplaylab0
HTTP_PORT=8000                                          # cirros, served by controller
# name=address; the first is the controller, the others are compute hosts
LAB_HOSTS=(controller=10.87.0.11 compute1=10.87.0.31)
LABEL=org.oplay.lab=1

# Capabilities on top of Docker's default set (see README.md: "Capabilities").
CAPS_CONTROLLER=()
CAPS_COMPUTE=(SYS_ADMIN SYS_PTRACE NET_ADMIN DAC_READ_SEARCH)

# Debian's docker.io client; /usr/local/bin/docker may be a newer static client.
DOCKER=/usr/bin/docker

say()  { printf '\033[1;34m[lab]\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33m[lab] warning:\033[0m %s\n' "$*" >&2; }
die()  { printf '\033[1;31m[lab] error:\033[0m %s\n' "$*" >&2; exit 1; }

dk() { "$DOCKER" "$@"; }

host_addr() { local h; for h in "${LAB_HOSTS[@]}"; do [[ ${h%%=*} == "$1" ]] && { echo "${h#*=}"; return; }; done; return 1; }
host_names() { local h; for h in "${LAB_HOSTS[@]}"; do echo "${h%%=*}"; done; }
ctr_name() { echo "oplay-lab-$1"; }

need_root() { [[ $(id -u) == 0 ]] || die "run as root"; }

apt_install() {  # apt_install PKG... (only those missing)
    local missing=() p
    for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
    ((${#missing[@]})) || return 0
    say "installing ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q \
        --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_docker() {  # Debian's docker.io, with dockerd started by hand (no systemd)
    [[ -x /usr/sbin/dockerd && -x $DOCKER ]] || apt_install docker.io
    dk info >/dev/null 2>&1 && return 0
    mkdir -p "$STATE_DIR"
    if pgrep -x dockerd >/dev/null; then
        say "dockerd is running but not answering yet; waiting"
    else
        say "starting dockerd (log: $STATE_DIR/dockerd.log)"
        setsid nohup /usr/sbin/dockerd --log-level=warn >>"$STATE_DIR/dockerd.log" 2>&1 </dev/null &
    fi
    local i
    for i in $(seq 60); do
        [[ -S /var/run/docker.sock ]] && dk info >/dev/null 2>&1 && return 0
        sleep 1
    done
    die "dockerd did not come up; see $STATE_DIR/dockerd.log"
}
