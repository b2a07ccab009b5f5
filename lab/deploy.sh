#!/bin/bash
# The main job: deploy OpenStack (Keystone, Glance, Placement, Nova) on the
# two-node lab with oplay, ending with playbooks/verify.yml passing.
#
# Usage (root, on Debian 12): lab/deploy.sh [OPLAY RUN OPTIONS...]
#
#   1. builds oplay (cargo build --release; CARGO_TARGET_DIR is honoured),
#      unless OPLAY_BIN names an oplay binary to use (the e2e test does),
#   2. lab/lab.sh up (two Debian 12 containers, see lab/README.md),
#   3. assembles the lab's inventory: inventory/lab/deploy/ = the hosts of
#      inventory/lab/hosts.ini + the settings of inventory/group_vars/all.yml,
#      overridden by the lab's inventory/lab/group_vars/all.yml,
#   4. installs every package (playbooks/packages.yml, both hosts at once),
#   5. runs playbooks/site.yml (which ends with verify.yml).
#
# The generated passwords stay in lab/.state/credentials/ (credentials_dir,
# set by lab.sh in inventory/lab/group_vars/all.yml); playbooks/credentials.yml
# moves them there from inventory/lab/deploy/credentials/, where earlier
# versions kept them.
# Extra arguments go to both `oplay run`s (e.g. -v, --diff).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

say() { printf '[deploy] %s\n' "$*" >&2; }
die() { printf '[deploy] error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root (the lab needs Docker)"

t0=$SECONDS
if [[ -n ${OPLAY_BIN:-} ]]; then
    OPLAY=$OPLAY_BIN
else
    command -v cargo >/dev/null ||
        die "cargo is not installed; install a Rust toolchain >= 1.85 (e.g. rustup), then run this again"
    say "building oplay (release)"
    cargo build --release --quiet
    OPLAY=${CARGO_TARGET_DIR:-$REPO/target}/release/oplay
fi
[[ -x $OPLAY ]] || die "no oplay binary at $OPLAY"
t_build=$((SECONDS - t0))

t0=$SECONDS
lab/lab.sh up
t_lab=$((SECONDS - t0))

# inventory/lab/ belongs to lab.sh (rewritten by every `up`). The deploy
# inventory beside it links to its hosts and vars, so it follows them; its
# group_vars/all/ files are read in order, the lab's last.
INV=$REPO/inventory/lab/deploy
mkdir -p "$INV/group_vars/all"
ln -sfn ../hosts.ini "$INV/hosts.ini"
ln -sfn ../../../../group_vars/all.yml "$INV/group_vars/all/00-settings.yml"
ln -sfn ../../../group_vars/all.yml "$INV/group_vars/all/10-lab.yml"

say "installing the packages (playbooks/packages.yml)"
t0=$SECONDS
"$OPLAY" run -i "$INV" "$REPO/playbooks/packages.yml" "$@"
t_packages=$((SECONDS - t0))

say "deploying (playbooks/site.yml)"
t0=$SECONDS
"$OPLAY" run -i "$INV" "$REPO/playbooks/site.yml" "$@"
t_site=$((SECONDS - t0))

say "done: OpenStack is deployed and verify.yml passed"
say "times: build ${t_build}s, lab up ${t_lab}s, packages ${t_packages}s, site.yml ${t_site}s"
say "on the controller: lab/lab.sh ssh controller, then . /root/admin-openrc; openstack catalog list"
