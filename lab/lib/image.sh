# shellcheck shell=bash
# oplay lab: the base image, built from Debian's archive with mmdebstrap and
# cached by a tag that hashes this recipe and lab/rootfs/.

# shellcheck disable=SC2016  # mmdebstrap hooks expand "$1" themselves
IMAGE_REPO=oplay-lab/bookworm
MIRROR=http://deb.debian.org/debian
SECURITY=http://deb.debian.org/debian-security
IMAGE_PKGS=openssh-server,iproute2,procps,ca-certificates,busybox,sudo,less,tini,curl,netbase,iputils-ping,apt-utils

image_tag() {
    local h
    h=$( { cat "${BASH_SOURCE[0]}"; (cd "$LAB_DIR/rootfs" && find . -type f | LC_ALL=C sort | xargs sha256sum; find . -type f -perm -u+x | LC_ALL=C sort); } \
        | sha256sum | cut -c1-12)
    echo "$IMAGE_REPO:$h"
}

ensure_image() {
    local tag; tag=$(image_tag)
    if dk image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; return; fi
    apt_install mmdebstrap
    mkdir -p "$STATE_DIR"
    say "building base image $tag from $MIRROR (takes a few minutes)"
    local t0=$SECONDS
    mmdebstrap --mode=root --variant=minbase --format=tar --include="$IMAGE_PKGS" \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-include=/usr/share/locale/locale.alias' \
        --skip=chroot/policy-rc.d \
        --extract-hook="install -m 755 '$LAB_DIR/rootfs/usr/sbin/policy-rc.d' \"\$1\"/usr/sbin/" \
        --customize-hook="tar -C '$LAB_DIR/rootfs' --owner=0 --group=0 -c . | tar -C \"\$1\" -x --no-same-owner" \
        --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
        --customize-hook='echo lab > "$1"/etc/hostname' \
        --customize-hook='chroot "$1" passwd -l root >/dev/null' \
        bookworm - \
        "deb $MIRROR bookworm main" \
        "deb $MIRROR bookworm-updates main" \
        "deb $SECURITY bookworm-security main" \
        2>"$STATE_DIR/mmdebstrap.log" \
      | dk import \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'ENV LANG=C.UTF-8' \
        -c 'CMD ["/usr/bin/tini", "--", "/usr/local/sbin/lab-init"]' \
        - "$tag" >/dev/null || die "image build failed; see $STATE_DIR/mmdebstrap.log"
    local old   # drop older builds of the recipe (kept if a container still uses one)
    for old in $(dk images --format '{{.Repository}}:{{.Tag}}' "$IMAGE_REPO" | grep -vxF "$tag"); do
        dk rmi "$old" >/dev/null 2>&1 || true
    done
    say "base image $tag built in $((SECONDS - t0))s ($(dk image inspect -f '{{.Size}}' "$tag" | awk '{printf "%d MB", $1/1e6}'))"
    echo "$tag"
}
