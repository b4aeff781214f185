#!/usr/bin/env bash
# Makes the local base images that the examples and the engine tests build on.
# No registry is needed: busybox:stages-test is a rootfs made from Debian's
# busybox-static package and imported with `docker import`.
# Idempotent: an image that already exists is left as it is.
#
# With --projects it then also makes the base images of the corpus's real
# projects (scripts/project-base-images.sh; the equivalence tests build on
# them). The first such run takes minutes; later ones about a second.
# With --examples it makes only the images the examples name
# (scripts/example-images.txt), a few minutes on a fresh machine.
#
# Usage: scripts/base-images.sh [--projects|--examples]
set -euo pipefail

IMAGE="${STAGES_TEST_IMAGE:-busybox:stages-test}"

projects=0
case "${1:-}" in
--projects) projects=1 ;;
--examples) projects=examples ;;
"") ;;
*)
    echo "usage: $0 [--projects|--examples]" >&2
    exit 2
    ;;
esac

project_bases() {
    if [ "$projects" = 1 ]; then
        exec bash "$(dirname "$0")/project-base-images.sh"
    fi
    if [ "$projects" = examples ]; then
        # shellcheck disable=SC2046
        exec bash "$(dirname "$0")/project-base-images.sh" --only $(grep -v '^#' "$(dirname "$0")/example-images.txt")
    fi
    exit 0
}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    project_bases
fi

# Debian's dynamic `busybox` package also installs /bin/busybox; only the
# static build runs in an image without libc.
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "base-images.sh: busybox-static is missing; run: sudo apt-get install -y busybox-static" >&2
        exit 1
    fi
    # A fresh machine may have no package lists yet.
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >&2
fi
# The static build runs in an image with no libc; check that is what we have.
if ldd /bin/busybox >/dev/null 2>&1; then
    echo "base-images.sh: /bin/busybox is dynamically linked; install busybox-static" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/root" "$rootfs/home"
chmod 1777 "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] && continue
    ln -sf busybox "$rootfs/bin/$applet"
done
cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP

# Two concurrent callers may both get here; the second import only re-tags.
tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . \
    | docker import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
project_bases
