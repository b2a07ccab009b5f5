#!/bin/bash
# oplay lab: two Debian 12 hosts (controller, compute1) as Docker containers.
# Usage: lab/lab.sh up | down [--all] | status | ssh NAME [CMD...] | image
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/image.sh
source "$LAB_DIR/lib/image.sh"
# shellcheck source=lib/hosts.sh
source "$LAB_DIR/lib/hosts.sh"

usage() {
    cat <<USAGE
usage: lab/lab.sh COMMAND
  up            build the base image if needed, start the network and hosts,
                write inventory/lab/ (idempotent)
  down [--all]  remove the hosts and the network; --all also removes the base
                image, the apt cache ($CACHE_DIR) and lab state
  status        show what is running
  ssh NAME [CMD...]  ssh to a lab host as root (host-key checking on)
  image         build the base image (if the recipe changed) and print its tag
USAGE
}

cmd_up() {
    need_root
    local t0=$SECONDS image n
    command -v ssh-keygen >/dev/null || apt_install openssh-client
    ensure_docker
    image=$(ensure_image)
    mkdir -p "$CACHE_DIR/apt-archives/partial"
    ensure_keys
    ensure_cirros
    ensure_network
    for n in $(host_names); do ensure_host "$n" "$image"; done
    write_inventory
    for n in $(host_names); do wait_ssh "$n"; done
    lab_ssh controller "curl -fsS -o /dev/null http://127.0.0.1:$HTTP_PORT/cirros.qcow2" ||
        die "cirros is not served on controller:$HTTP_PORT"
    say "lab is up in $((SECONDS - t0))s; inventory: $INV_DIR/hosts.ini"
}

cmd_down() {
    need_root
    local all=0 ids=()
    [[ ${1:-} == --all ]] && all=1
    if ! dk info >/dev/null 2>&1; then
        warn "dockerd is not running; nothing to remove from Docker"
    else
        mapfile -t ids < <(dk ps -aq --filter "label=$LABEL")
        if ((${#ids[@]})); then say "removing containers"; dk rm -f "${ids[@]}" >/dev/null; fi
        if dk network inspect "$NET_NAME" >/dev/null 2>&1; then
            say "removing network $NET_NAME"; dk network rm "$NET_NAME" >/dev/null
        fi
        if ((all)); then
            mapfile -t ids < <(dk images -q "$IMAGE_REPO" | sort -u)
            if ((${#ids[@]})); then say "removing base images"; dk rmi -f "${ids[@]}" >/dev/null; fi
        fi
    fi
    rm -f "$INV_DIR/hosts.ini" "$INV_DIR/known_hosts" "$INV_DIR/group_vars/all.yml"
    rmdir "$INV_DIR/group_vars" 2>/dev/null || true
    if ((all)); then
        say "removing $CACHE_DIR and $STATE_DIR"
        rm -rf "$CACHE_DIR" "$STATE_DIR"
    fi
    say "lab is down"
}

cmd_status() {
    local n c st ok=0
    if ! dk info >/dev/null 2>&1; then echo "dockerd: not running"; return 1; fi
    echo "dockerd:  running ($(dk version -f '{{.Server.Version}}'))"
    local tag; tag=$(image_tag)
    if dk image inspect "$tag" >/dev/null 2>&1; then echo "image:    $tag (cached)"
    else echo "image:    $tag (not built)"; fi
    if dk network inspect "$NET_NAME" >/dev/null 2>&1; then echo "network:  $NET_NAME $NET_SUBNET (bridge $NET_BRIDGE)"
    else echo "network:  absent"; fi
    echo "apt cache: $CACHE_DIR/apt-archives ($(du -sh "$CACHE_DIR/apt-archives" 2>/dev/null | cut -f1 || echo -))"
    for n in $(host_names); do
        c=$(ctr_name "$n")
        st=$(dk inspect -f '{{.State.Status}} since {{.State.StartedAt}}' "$c" 2>/dev/null) || st=absent
        if [[ $st == running* ]] && [[ -f $KNOWN_HOSTS ]] && lab_ssh "$n" -o ConnectTimeout=3 true 2>/dev/null; then
            st="$st, ssh ok"; ok=$((ok + 1))
        fi
        printf '%-9s %-12s %s\n' "$n:" "$(host_addr "$n")" "$st"
    done
    [[ -f $INV_DIR/hosts.ini ]] && echo "inventory: $INV_DIR/hosts.ini" && grep '^cirros' "$INV_DIR/group_vars/all.yml"
    [[ $ok -eq ${#LAB_HOSTS[@]} ]]
}

case ${1:-} in
up) shift; cmd_up "$@" ;;
down) shift; cmd_down "$@" ;;
status) shift; cmd_status "$@" ;;
ssh) shift; [[ $# -ge 1 ]] || die "usage: lab.sh ssh NAME [CMD...]"
     n=$1; shift; host_addr "$n" >/dev/null || die "no host $n"
     exec ssh -i "$KEY" -o UserKnownHostsFile="$KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
         "root@$(host_addr "$n")" "$@" ;;
image) need_root; ensure_docker; ensure_image ;;
-h|--help|help) usage ;;
*) usage >&2; exit 2 ;;
esac
