#!/usr/bin/env bash
# Build the flashable Raspberry Pi image of the loyalty kiosk from Debian Bookworm's arm64
# packages (docs/appliance-test.md): a root file system made with debootstrap (foreign,
# second stage under qemu-user-static), then a disk image with a FAT boot partition (the
# Pi's firmware, the kernel, the device trees, config.txt, cmdline.txt from raspi-firmware)
# and an ext4 root, made from the directory (mke2fs -d, mtools): no loop mounts.
#
#   sudo systemd/image/build.sh [CACHE_DIR]      (default: ./var/appliance)
#   sudo systemd/image/build.sh --paths [CACHE_DIR]   where the stages are (or would be)
#
# Each stage is cached under CACHE_DIR by a hash of its inputs (this folder's data files,
# the package list, the stage's version below):
# rootfs-HASH/ (the tree), image-HASH.img (the disk). It prints the image's path last.
# Needs root (debootstrap, file owners), debootstrap, qemu-user-static with binfmt_misc,
# mtools, dosfstools, fdisk, e2fsprogs: `make image` installs them.
set -euo pipefail
umask 022

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
PROJECT_DIR=$(cd -- "$HERE/../.." && pwd)
PATHS_ONLY=0
if [[ ${1:-} == --paths ]]; then
    PATHS_ONLY=1
    shift
fi
CACHE=${1:-$PROJECT_DIR/var/appliance}
mkdir -p "$CACHE"
CACHE=$(cd -- "$CACHE" && pwd)
readonly HERE PROJECT_DIR CACHE PATHS_ONLY

log() { printf '[build %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() {
    log "FAILED: $*"
    exit 1
}

[[ $EUID == 0 ]] || fail "run as root (debootstrap and the files' owners need it)"

# The Debian mirror this machine's apt uses (never a name written here): the first URIs:
# of a deb822 source with the suite bookworm, or the first "deb URL bookworm" line.
debian_mirror() {
    local url
    url=$(awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ && u {print u; exit}' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    if [[ -z $url ]]; then
        url=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
    fi
    [[ -n $url ]] || fail "no Debian bookworm mirror in /etc/apt/sources.list*"
    printf '%s' "$url"
}

# The packages: the base system, what install.sh installs (its APT_PACKAGES, read from
# it, so the image never drifts from the installer), what the kiosk's wheels load, and
# the Pi's kernel and firmware.
installer_packages() {
    sed -n '/^readonly APT_PACKAGES=(/,/^)/p' "$PROJECT_DIR/systemd/install.sh" |
        sed -e '1d' -e '$d' -e 's/#.*//' | tr -s ' \n' '\n' | sed '/^$/d'
}
PACKAGES=$(
    {
        grep -v '^#' "$HERE/packages.txt" | tr -s ' ' '\n'
        installer_packages
    } | sed '/^$/d' | sort -u | paste -sd, -
)
readonly PACKAGES

# Bump when a stage's code below changes what it makes (its data files are hashed).
readonly ROOTFS_STAGE=1 IMAGE_STAGE=1
stage_hash() {
    {
        printf '%s\n' "$@"
        cd "$HERE" && find packages.txt raspi-firmware.default rootfs -type f -print0 |
            LC_ALL=C sort -z | xargs -0 sha256sum
    } | sha256sum | cut -c1-12
}
ROOTFS_HASH=$(stage_hash "rootfs $ROOTFS_STAGE" "$PACKAGES")

# The project as a release copy holds it (what git lists: committed files and new ones it
# does not ignore; every file below the folder without git), NUL-separated.
project_files() {
    if git -C "$PROJECT_DIR" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$PROJECT_DIR" ls-files -z -co --exclude-standard |
            while IFS= read -r -d '' name; do
                [[ -f $PROJECT_DIR/$name ]] && printf '%s\0' "$name"
            done
    else
        (cd "$PROJECT_DIR" && find . -type f -print0)
    fi
}

# The Python wheels for the Pi, downloaded (and cached) by wheelhouse.py with the
# project's venv when there is one.
PYTHON=${PYTHON:-$PROJECT_DIR/.venv/bin/python}
[[ -x $PYTHON ]] || PYTHON=python3
WHEELHOUSE=$("$PYTHON" "$HERE/wheelhouse.py" "$CACHE")
PROJECT_HASH=$(
    cd "$PROJECT_DIR" && project_files | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12
)
readonly PYTHON WHEELHOUSE PROJECT_HASH
IMAGE_HASH=$(stage_hash "image $IMAGE_STAGE" "$ROOTFS_HASH" "$PROJECT_HASH" "${WHEELHOUSE##*/}" \
    "$(cat "$HERE"/kiosk/*)")
readonly ROOTFS_HASH IMAGE_HASH
ROOTFS=$CACHE/rootfs-$ROOTFS_HASH
IMAGE=$CACHE/image-$IMAGE_HASH.img
if ((PATHS_ONLY)); then
    printf 'rootfs %s\nimage %s\n' "$ROOTFS" "$IMAGE"
    exit 0
fi

# --- stage 1: the root file system ------------------------------------------------------
build_rootfs() {
    if [[ -f $ROOTFS.done ]]; then
        log "root file system cached: $ROOTFS"
        return 0
    fi
    [[ -e /proc/sys/fs/binfmt_misc/register ]] ||
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    [[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] || update-binfmts --enable qemu-aarch64 ||
        fail "no binfmt_misc entry for qemu-aarch64 (qemu-user-static)"
    local mirror tmp=$ROOTFS.tmp
    mirror=$(debian_mirror)
    # shellcheck disable=SC2064 # expand now
    trap "umount -l '$tmp/boot/firmware' 2>/dev/null || true; umount -l '$tmp/proc' 2>/dev/null || true" EXIT
    # debootstrap is the long part (half an hour emulated): a tree it finished is kept
    # when the configuration after it fails, and taken up again by the next run.
    if [[ ! -f $tmp/.debootstrap-done ]]; then
        rm -rf -- "$tmp"
        log "debootstrap (first stage) from $mirror: $PACKAGES"
        debootstrap --arch=arm64 --foreign --variant=minbase \
            --components=main,non-free-firmware --include="$PACKAGES" \
            bookworm "$tmp" "$mirror"
        install -m 0755 /usr/bin/qemu-aarch64-static "$tmp/usr/bin/"
        # The hooks of raspi-firmware and initramfs-tools write to /boot/firmware.
        mkdir -p "$tmp/boot/firmware"
        install -m 0644 "$HERE/raspi-firmware.default" "$tmp/etc/default/raspi-firmware"
        # Our files before the packages are configured: the initramfs's module list
        # (rootfs/etc/initramfs-tools) is read when the kernel's package makes it.
        copy_overlay "$tmp"
        # raspi-firmware's scripts want /boot/firmware to be a mount point, as on the Pi:
        # a bind mount of the folder onto itself (no loop device), undone whatever happens.
        mount --bind "$tmp/boot/firmware" "$tmp/boot/firmware"
        log "debootstrap (second stage, emulated)"
        chroot "$tmp" /debootstrap/debootstrap --second-stage
        umount "$tmp/boot/firmware"
        touch "$tmp/.debootstrap-done"
    else
        log "taking up the tree debootstrap finished: $tmp"
    fi
    mount --bind "$tmp/boot/firmware" "$tmp/boot/firmware"
    mount -t proc proc "$tmp/proc"
    configure_rootfs "$tmp" "$mirror"
    umount "$tmp/proc" "$tmp/boot/firmware"
    trap - EXIT
    rm -f -- "$tmp/.debootstrap-done"
    rm -f -- "$tmp/usr/bin/qemu-aarch64-static"
    mv -- "$tmp" "$ROOTFS"
    touch "$ROOTFS.done"
    log "root file system ready: $ROOTFS"
}

# The image's own files (rootfs/: the network, SSH host keys at first boot, the
# technician's key, the initramfs's modules), owned by root.
copy_overlay() {
    local root=$1
    (cd "$HERE/rootfs" && tar --owner=0 --group=0 -cf - .) | tar -C "$root" -xf -
}

configure_rootfs() {
    local root=$1 mirror=$2
    log "configuring the system"
    install -m 0644 "$HERE/raspi-firmware.default" "$root/etc/default/raspi-firmware"
    printf 'deb %s bookworm main non-free-firmware\n' "$mirror" >"$root/etc/apt/sources.list"
    printf 'loyalty-kiosk\n' >"$root/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tloyalty-kiosk\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
        >"$root/etc/hosts"
    copy_overlay "$root"
    # Host keys made here would be the same on every card made from the image.
    rm -f -- "$root"/etc/ssh/ssh_host_*
    chroot "$root" systemctl enable systemd-networkd.service ssh.service \
        loyalty-kiosk-ssh-host-keys.service loyalty-kiosk-technician-key.service
    # Nobody logs in with a password: the technician's SSH key goes on the boot partition
    # (technician_authorized_keys, loyalty-kiosk-technician-key.service); root stays locked.
    chroot "$root" passwd -l root >/dev/null
    # The kernel, its initrd and the device trees in /boot/firmware, with our cmdline.txt
    # (raspi-firmware.default): raspi-firmware's kernel hook, run again in case the
    # package was configured after the kernel.
    local version
    version=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sort -V | tail -1)
    version=${version#vmlinuz-}
    chroot "$root" env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware \
        "$version" >&2
    [[ -f $root/boot/firmware/vmlinuz-$version ]] || fail "no kernel in /boot/firmware"
    log "/boot/firmware: cmdline.txt: $(cat "$root/boot/firmware/cmdline.txt")"
    chroot "$root" apt-get clean
    rm -rf -- "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old "$root"/debootstrap
}

# --- stage 2: the kiosk on the root file system, the disk image ---

# A copy of the root file system with the project in /opt/loyalty-kiosk-src, its wheels
# in /opt/loyalty-kiosk-src/wheelhouse and the first-boot install enabled
# (kiosk/loyalty-kiosk-firstboot.service).
add_kiosk() {
    local staging=$1 src=$1/opt/loyalty-kiosk-src
    rm -rf -- "$staging"
    log "the root file system with the kiosk's project and wheels"
    cp -a --reflink=auto "$ROOTFS" "$staging"
    mkdir -p "$src/wheelhouse"
    (cd "$PROJECT_DIR" && project_files) |
        tar -C "$PROJECT_DIR" --null -T - --owner=0 --group=0 -cf - | tar -C "$src" -xf -
    find "$WHEELHOUSE" -maxdepth 1 -type f ! -name '.*' -exec cp -t "$src/wheelhouse" {} +
    # The config install.sh puts in place from this copy: a card flashed from the image
    # asks on its screen for the hub's address and enrollment code at first boot
    # (device.first_boot_setup, kiosk/ui/screens/provision.py).
    awk '{ print } /^\[device\]$/ { print "# The image: the first boot asks on the screen for the hub and the code."
        print "first_boot_setup = true" }' "$PROJECT_DIR/systemd/kiosk.toml.example" \
        >"$src/systemd/kiosk.toml.example"
    grep -q '^first_boot_setup = true$' "$src/systemd/kiosk.toml.example" ||
        fail "no [device] section in systemd/kiosk.toml.example"
    chown -R root:root "$src"
    install -m 0644 "$HERE/kiosk/loyalty-kiosk-firstboot.service" "$staging/etc/systemd/system/"
    ln -sf /etc/systemd/system/loyalty-kiosk-firstboot.service \
        "$staging/etc/systemd/system/multi-user.target.wants/loyalty-kiosk-firstboot.service"
}

# --- the disk image ---------------------------------------------------------------------
readonly BOOT_MB=256
build_image() {
    if [[ -f $IMAGE ]]; then
        log "image cached: $IMAGE"
        return 0
    fi
    local tmp=$CACHE/image.tmp boot=$CACHE/boot.vfat.tmp root=$CACHE/root.ext4.tmp
    local staging=$CACHE/staging.tmp used_mb root_mb
    add_kiosk "$staging"
    used_mb=$(du -sm --exclude=./boot/firmware "$staging" | cut -f1)
    # Room for the kiosk's virtual environment (install.sh) and the data.
    root_mb=$((used_mb + 1536))
    log "boot partition: ${BOOT_MB} MiB FAT32"
    rm -f -- "$boot" "$root" "$tmp"
    truncate -s ${BOOT_MB}M "$boot"
    mkfs.vfat -F 32 -n RASPIFIRM "$boot" >/dev/null
    MTOOLS_SKIP_CHECK=1 mcopy -s -p -i "$boot" "$staging"/boot/firmware/* ::/
    log "root partition: ${root_mb} MiB ext4 from the tree"
    mke2fs -q -t ext4 -L RASPIROOT -E root_owner=0:0 -d "$staging" "$root" ${root_mb}M
    rm -rf -- "$staging"
    # Partition table: 4 MiB alignment, the FAT first (the Pi's boot ROM wants it there).
    local boot_start=8192 boot_sectors=$((BOOT_MB * 2048)) root_sectors=$((root_mb * 2048))
    local root_start=$((boot_start + boot_sectors))
    truncate -s $(((root_start + root_sectors) * 512)) "$tmp"
    sfdisk --quiet "$tmp" <<EOF
label: dos
start=$boot_start, size=$boot_sectors, type=c, bootable
start=$root_start, size=$root_sectors, type=83
EOF
    dd if="$boot" of="$tmp" bs=1M seek=$((boot_start / 2048)) conv=notrunc,sparse status=none
    dd if="$root" of="$tmp" bs=1M seek=$((root_start / 2048)) conv=notrunc,sparse status=none
    rm -f -- "$boot" "$root"
    mv -- "$tmp" "$IMAGE"
    log "image ready: $IMAGE ($(du -h --apparent-size "$IMAGE" | cut -f1), $(du -h "$IMAGE" | cut -f1) on disk)"
}

build_rootfs
build_image
ln -sfn "$(basename -- "$IMAGE")" "$CACHE/image.img"
# Images of other versions of the project are of no more use (3 GB each, sparse).
find "$CACHE" -maxdepth 1 -name 'image-*.img' ! -name "${IMAGE##*/}" -delete
printf '%s\n' "$IMAGE"
