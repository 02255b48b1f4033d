#!/usr/bin/env bash
# Install the loyalty kiosk on Raspberry Pi OS Bookworm (64-bit, Lite is enough): the
# Debian packages it needs, the service user, the project in its own virtual environment,
# the systemd units, the udev rules and kernel-module blacklist for the card readers, a
# config skeleton, and a kernel command line for a screen that never blanks.
#
# Run it as root from a copy of the project; it installs the project it is part of:
#   sudo systemd/install.sh [--rotate 0|90|180|270] [--no-enable] [--dry-run]
#
# Every step compares before it writes, so a second run changes nothing. An existing
# /etc/loyalty-kiosk/kiosk.toml is never overwritten, and the device secret (in the data
# directory) is left to `kiosk provision`.
#
# DESTDIR=/some/dir puts every file it writes below that directory and skips the steps
# that need the real system (users, apt-get, pip, systemctl, udevadm, modprobe), printing
# them as skipped. The tests install that way.
set -euo pipefail
# Whatever the caller's umask: the venv and the folders must be readable by the service.
umask 022

readonly SERVICE_USER=loyalty-kiosk
readonly PREFIX=/opt/loyalty-kiosk
readonly VENV=$PREFIX/venv
readonly FINGERPRINT_FILE=$PREFIX/installed-source.sha256
readonly CONFIG_DIR=/etc/loyalty-kiosk
readonly DATA_DIR=/var/lib/loyalty-kiosk
readonly UNIT_DIR=/etc/systemd/system
readonly UDEV_RULES=/etc/udev/rules.d/60-loyalty-kiosk-readers.rules
readonly MODPROBE_CONF=/etc/modprobe.d/loyalty-kiosk-nfc-blacklist.conf
readonly UNITS=(loyalty-kiosk.service loyalty-kiosk-sync.service
    loyalty-kiosk-backup.service loyalty-kiosk-backup.timer)
# Started at boot; the backup service is started by its timer.
readonly BOOT_UNITS=(loyalty-kiosk.service loyalty-kiosk-sync.service loyalty-kiosk-backup.timer)
# Restarted when the project or a unit changed, so the new version runs.
readonly RUNNING_SERVICES=(loyalty-kiosk.service loyalty-kiosk-sync.service)
# The groups that open the devices to the service user (the same as SupplementaryGroups=
# in loyalty-kiosk.service, so `sudo -u loyalty-kiosk kiosk reader test` sees them too).
readonly SERVICE_GROUPS=(video render input audio dialout plugdev)
# Debian packages for the Pi; Kivy's wheel brings SDL2 itself. Kept small on purpose.
readonly APT_PACKAGES=(
    python3-venv                                # the virtual environment in /opt
    gcc python3-dev linux-libc-dev              # evdev (keyboard-like readers) builds from source on ARM
    libgl1 libegl1 libgles2 libgl1-mesa-dri     # OpenGL ES through Mesa (vc4/v3d) for Kivy
    libmtdev1                                   # Kivy's multitouch input
    libusb-1.0-0                                # nfcpy reaches USB NFC readers through libusb
)
# Loaded kernel NFC drivers that would hold a reader (see modprobe/...-blacklist.conf);
# removing these takes their dependencies (pn533, nfc) along.
readonly NFC_KERNEL_DRIVERS=(pn533_usb port100)
# What the wheel is built from besides the top-level files (see pyproject.toml).
readonly PROJECT_PARTS=(kiosk drivers sync sim assets)
# The official 7" display on the DSI connector, for --rotate.
readonly DSI_MODE=DSI-1:800x480@60

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
PROJECT_DIR=$(dirname -- "$SCRIPT_DIR")
readonly SCRIPT_DIR PROJECT_DIR

usage() {
    cat <<EOF
Usage: sudo $0 [options]

Installs the loyalty kiosk on Raspberry Pi OS Bookworm (64-bit) from this copy of the
project ($PROJECT_DIR). Safe to run again: what is already in place is left alone.

Options:
  --rotate DEGREES  turn the official 7" display: 0, 90, 180 or 270 (kernel command line,
                    video=$DSI_MODE,rotate=DEGREES); without it the rotation is left as is
  --no-enable       install everything but do not enable, start or restart the services
  --dry-run         print every action and change nothing
  -h, --help        this help

Environment:
  DESTDIR           write every file below this directory instead of / and skip what
                    needs the real system (users, apt-get, pip, systemctl, udevadm)
EOF
}

fail() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 1
}

usage_error() {
    printf 'install.sh: %s\n\n' "$*" >&2
    usage >&2
    exit 2
}

ARGS=("$@")
DRY_RUN=0
ENABLE=1
ROTATE=""
while (($#)); do
    case $1 in
        --dry-run) DRY_RUN=1 ;;
        --no-enable) ENABLE=0 ;;
        --rotate)
            (($# >= 2)) || usage_error "--rotate needs 0, 90, 180 or 270"
            ROTATE=$2
            shift
            ;;
        --rotate=*) ROTATE=${1#--rotate=} ;;
        -h | --help)
            usage
            exit 0
            ;;
        *) usage_error "unknown option: $1" ;;
    esac
    shift
done
case $ROTATE in
    "" | 0 | 90 | 180 | 270) ;;
    *) usage_error "--rotate takes 0, 90, 180 or 270, not '$ROTATE'" ;;
esac

DESTDIR=${DESTDIR:-}
if [[ -n $DESTDIR ]]; then
    [[ $DESTDIR == /* ]] || DESTDIR=$PWD/$DESTDIR
    DESTDIR=${DESTDIR%/}
    [[ -d $DESTDIR ]] || fail "DESTDIR $DESTDIR is not a directory"
fi
readonly DRY_RUN ENABLE ROTATE DESTDIR

if [[ -z $DESTDIR ]] && ((!DRY_RUN)) && ((EUID != 0)); then
    fail "run it as root: sudo $0 ${ARGS[*]}"
fi
[[ -f $PROJECT_DIR/pyproject.toml ]] || fail "no pyproject.toml in $PROJECT_DIR: run the copy inside the project"

# --- reporting --------------------------------------------------------------------------

CHANGED=()
SKIPPED=()
UNCHANGED=0

step() { printf '\n==> %s\n' "$*"; }

comma_separated() {
    local IFS=,
    printf '%s' "$*"
}

# The command as one would type it: words with unusual characters in single quotes.
quoted() {
    local word text=""
    for word in "$@"; do
        if [[ -z $word || $word == *[!A-Za-z0-9_./:=@%+,-]* ]]; then
            word="'${word//\'/\'\\\'\'}'"
        fi
        text+="$word "
    done
    printf '%s' "${text% }"
}

unchanged() {
    UNCHANGED=$((UNCHANGED + 1))
    printf '    ok       %s\n' "$*"
}

note() { printf '    note     %s\n' "$*"; }

# change WHAT COMMAND...: make a change (to a file below DESTDIR, or to the system when
# DESTDIR is empty); with --dry-run only print it.
change() {
    local what=$1
    shift
    CHANGED+=("$what")
    if ((DRY_RUN)); then
        printf '    would    %s\n             $ %s\n' "$what" "$(quoted "$@")"
        return 0
    fi
    printf '    change   %s\n             $ %s\n' "$what" "$(quoted "$@")"
    "$@"
}

# system_change WHAT COMMAND...: a change to the running system (users, packages,
# services); under DESTDIR it is printed as skipped.
system_change() {
    if [[ -n $DESTDIR ]]; then
        local what=$1
        shift
        SKIPPED+=("$what")
        printf '    skipped  %s (DESTDIR is set)\n             $ %s\n' "$what" "$(quoted "$@")"
        return 0
    fi
    change "$@"
}

# --- files ------------------------------------------------------------------------------

mode_is() { [[ $(stat -c %a -- "$1") == "$(printf '%o' "$((8#$2))")" ]]; }

# Ownership is managed on the real system only: below DESTDIR the user may not exist.
owner_is() { [[ -n $DESTDIR || $(stat -c %U:%G -- "$1") == "$2" ]]; }

owner_label() { [[ -n $DESTDIR ]] || printf ' %s' "$1"; }

owner_options() {
    [[ -n $DESTDIR ]] || printf '%s\n' -o "${1%:*}" -g "${1#*:}"
}

FILE_CHANGED=0

# install_file SOURCE PATH MODE OWNER:GROUP: install SOURCE as PATH unless it is there
# already with that content, mode and owner. Sets FILE_CHANGED.
install_file() {
    local source=$1 path=$2 mode=$3 owner=$4 target=$DESTDIR$2
    local -a owner_opts
    FILE_CHANGED=0
    if [[ -f $target ]] && cmp -s -- "$source" "$target" && mode_is "$target" "$mode" &&
        owner_is "$target" "$owner"; then
        unchanged "$path"
        return 0
    fi
    mapfile -t owner_opts < <(owner_options "$owner")
    FILE_CHANGED=1
    change "$path ($mode$(owner_label "$owner"))" install -D -m "$mode" "${owner_opts[@]}" -- "$source" "$target"
}

# ensure_dir PATH MODE OWNER:GROUP: the directory exists with that mode and owner.
ensure_dir() {
    local path=$1 mode=$2 owner=$3 target=$DESTDIR$1
    local -a owner_opts
    if [[ -d $target ]] && mode_is "$target" "$mode" && owner_is "$target" "$owner"; then
        unchanged "$path/"
        return 0
    fi
    mapfile -t owner_opts < <(owner_options "$owner")
    change "$path/ ($mode$(owner_label "$owner"))" install -d -m "$mode" "${owner_opts[@]}" -- "$target"
}

# --- the steps --------------------------------------------------------------------------

check_system() {
    step "System"
    if [[ -n $DESTDIR ]]; then
        note "installing below DESTDIR=$DESTDIR"
        return 0
    fi
    command -v apt-get >/dev/null || fail "this installer is for Raspberry Pi OS (Debian); apt-get is missing"
    local codename="" arch
    if [[ -r /etc/os-release ]]; then
        # shellcheck disable=SC1091 # the system's file
        codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
    fi
    arch=$(dpkg --print-architecture)
    if [[ $codename == bookworm && $arch == arm64 ]]; then
        unchanged "Debian $codename on $arch"
    else
        note "made for Raspberry Pi OS Bookworm 64-bit (arm64); this is ${codename:-unknown} on $arch"
    fi
}

install_packages() {
    step "Debian packages"
    if [[ -n $DESTDIR ]]; then
        system_change "install ${APT_PACKAGES[*]}" apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}"
        return 0
    fi
    local package
    local -a missing=()
    for package in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$package")
    done
    if ((${#missing[@]} == 0)); then
        unchanged "${APT_PACKAGES[*]}"
        return 0
    fi
    system_change "update the package lists" apt-get update -q
    system_change "install ${missing[*]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

create_user() {
    step "Service user $SERVICE_USER"
    if [[ -n $DESTDIR ]]; then
        system_change "create the system user $SERVICE_USER" useradd --system --user-group \
            --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin \
            --comment "Loyalty kiosk" "$SERVICE_USER"
        system_change "add $SERVICE_USER to ${SERVICE_GROUPS[*]}" usermod --append \
            --groups "$(comma_separated "${SERVICE_GROUPS[@]}")" "$SERVICE_USER"
        return 0
    fi
    if getent passwd "$SERVICE_USER" >/dev/null; then
        unchanged "user $SERVICE_USER"
    else
        system_change "create the system user $SERVICE_USER" useradd --system --user-group \
            --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin \
            --comment "Loyalty kiosk" "$SERVICE_USER"
    fi
    local group member_of
    local -a missing=()
    member_of=" $(id -nG "$SERVICE_USER" 2>/dev/null || true) "
    for group in "${SERVICE_GROUPS[@]}"; do
        if ! getent group "$group" >/dev/null; then
            # SupplementaryGroups= in loyalty-kiosk.service would then refuse to start.
            note "WARNING: the group $group does not exist; loyalty-kiosk.service will not start without it"
        elif [[ $member_of != *" $group "* ]]; then
            missing+=("$group")
        fi
    done
    if ((${#missing[@]} == 0)); then
        unchanged "groups of $SERVICE_USER: ${SERVICE_GROUPS[*]}"
    else
        system_change "add $SERVICE_USER to ${missing[*]}" usermod --append \
            --groups "$(comma_separated "${missing[@]}")" "$SERVICE_USER"
    fi
}

create_directories() {
    step "Directories"
    ensure_dir "$CONFIG_DIR" 0750 "root:$SERVICE_USER"
    ensure_dir "$DATA_DIR" 0700 "$SERVICE_USER:$SERVICE_USER"
    ensure_dir "$DATA_DIR/backups" 0700 "$SERVICE_USER:$SERVICE_USER"
    ensure_dir "$PREFIX" 0755 root:root
}

# The files pip builds the project from, NUL-separated and relative to the project: the
# top-level files (pyproject.toml, README.md, ...) and the import packages with the assets,
# without caches. Named, not globbed: a working copy may hold gigabytes of caches and data.
project_files() {
    local part
    local -a parts=()
    for part in "${PROJECT_PARTS[@]}"; do
        [[ -d $PROJECT_DIR/$part ]] && parts+=("./$part")
    done
    (cd -- "$PROJECT_DIR" && {
        find . -maxdepth 1 -type f -print0
        find "${parts[@]}" \( -name __pycache__ -o -name '.*' \) -prune -o -type f -print0
    } | LC_ALL=C sort -z)
}

# What the installed project was built from, to tell whether pip has anything to do.
source_fingerprint() {
    project_files | (cd -- "$PROJECT_DIR" && xargs -0 -r sha256sum) | sha256sum | cut -d' ' -f1
}

# pip builds in the source tree; a clean copy keeps the technician's copy untouched.
pip_install_project() {
    local fingerprint=$1 build
    build=$(mktemp -d)
    # shellcheck disable=SC2064 # expand now: the variable is local
    trap "rm -rf -- '$build'" EXIT
    project_files | tar -C "$PROJECT_DIR" --null -T - -cf - | tar -C "$build" -xf -
    "$VENV/bin/python" -m pip install --quiet --no-cache-dir "$build"
    printf '%s\n' "$fingerprint" >"$FINGERPRINT_FILE"
    rm -rf -- "$build"
    trap - EXIT
}

CODE_CHANGED=0

install_project() {
    step "The project in $VENV"
    if [[ -n $DESTDIR ]]; then
        system_change "create the virtual environment $VENV" python3 -m venv "$VENV"
        system_change "pip install the project from $PROJECT_DIR" \
            "$VENV/bin/python" -m pip install "$PROJECT_DIR"
        return 0
    fi
    if [[ -x $VENV/bin/python ]]; then
        unchanged "$VENV"
    else
        system_change "create the virtual environment $VENV" python3 -m venv "$VENV"
    fi
    local fingerprint
    fingerprint=$(source_fingerprint)
    if [[ -x $VENV/bin/kiosk && -f $FINGERPRINT_FILE &&
        $(<"$FINGERPRINT_FILE") == "$fingerprint" ]]; then
        unchanged "the project, as in $PROJECT_DIR (${fingerprint:0:12})"
    else
        CODE_CHANGED=1
        system_change "pip install the project from $PROJECT_DIR (${fingerprint:0:12})" \
            pip_install_project "$fingerprint"
    fi
}

UNITS_CHANGED=0
RULES_CHANGED=0
BLACKLIST_CHANGED=0

install_files() {
    step "Units, udev rules, module blacklist, config"
    local unit
    for unit in "${UNITS[@]}"; do
        install_file "$SCRIPT_DIR/$unit" "$UNIT_DIR/$unit" 0644 root:root
        ((FILE_CHANGED)) && UNITS_CHANGED=1
    done
    install_file "$SCRIPT_DIR/udev/${UDEV_RULES##*/}" "$UDEV_RULES" 0644 root:root
    RULES_CHANGED=$FILE_CHANGED
    install_file "$SCRIPT_DIR/modprobe/${MODPROBE_CONF##*/}" "$MODPROBE_CONF" 0644 root:root
    BLACKLIST_CHANGED=$FILE_CHANGED

    local config=$CONFIG_DIR/kiosk.toml
    if [[ -e $DESTDIR$config ]]; then
        unchanged "$config (kept as it is: never overwritten)"
        if [[ $(stat -c %a -- "$DESTDIR$config") == *[1-7] ]]; then
            note "WARNING: $config is readable by everyone; sudo chmod 0640 $config"
        fi
    else
        install_file "$SCRIPT_DIR/kiosk.toml.example" "$config" 0640 "root:$SERVICE_USER"
    fi
}

CMDLINE_CHANGED=0

# with_kiosk_settings LINE: the kernel command line LINE with consoleblank=0 and, with
# --rotate, the display's rotation; a setting already there is edited in place (the first
# one kept, repeats dropped), a missing one appended.
with_kiosk_settings() {
    local word blank_done=0 video_done=0
    local -a words=() new=()
    read -r -a words <<<"$1"
    for word in "${words[@]}"; do
        case $word in
            consoleblank=*)
                ((blank_done)) && continue
                word=consoleblank=0
                blank_done=1
                ;;
            video=DSI-1:*)
                if [[ -n $ROTATE ]]; then
                    ((video_done)) && continue
                    word=video=$DSI_MODE,rotate=$ROTATE
                    video_done=1
                fi
                ;;
        esac
        new+=("$word")
    done
    ((blank_done)) || new+=(consoleblank=0)
    [[ -z $ROTATE ]] || ((video_done)) || new+=("video=$DSI_MODE,rotate=$ROTATE")
    printf '%s' "${new[*]}"
}

# Raspberry Pi OS reads the kernel command line from the first line of cmdline.txt on
# the boot partition (/boot/firmware since Bookworm). Edited in place, token by token:
# consoleblank=0 (the console never blanks the screen) and, with --rotate, the rotation
# of the DSI display under KMS (video=DSI-1:800x480@60,rotate=N; the firmware's
# display_lcd_rotate= is not used by the KMS driver).
edit_cmdline() {
    step "Kernel command line"
    local path
    for path in /boot/firmware/cmdline.txt /boot/cmdline.txt ""; do
        [[ -z $path || -f $DESTDIR$path ]] && break
    done
    if [[ -z $path ]]; then
        note "no cmdline.txt in $DESTDIR/boot/firmware or $DESTDIR/boot (not a Raspberry Pi?): skipped"
        return 0
    fi
    local file=$DESTDIR$path first_line rest line
    first_line=$(head -n 1 -- "$file")
    rest=$(tail -n +2 -- "$file")
    line=$(with_kiosk_settings "$first_line")
    if [[ $line == "$first_line" ]]; then
        unchanged "$path: consoleblank=0${ROTATE:+, rotate=$ROTATE}"
        return 0
    fi
    CMDLINE_CHANGED=1
    local backup=$file.before-loyalty-kiosk
    if [[ ! -e $backup ]]; then
        change "keep the original as $path.before-loyalty-kiosk" cp -- "$file" "$backup"
    fi
    # Rewritten in place: the boot partition is FAT, where a new file could not keep the
    # mode and owner of the old one.
    change "$path: $line" write_cmdline "$file" "$line" "$rest"
}

# Debian's raspi-firmware package (Debian on a Pi, as in `make image`; not Raspberry Pi
# OS) writes cmdline.txt anew at each kernel or initramfs update, from
# /etc/default/raspi-firmware with /etc/default/raspi-extra-cmdline appended: the same
# settings go there too, or the next kernel update takes them away.
readonly EXTRA_CMDLINE=/etc/default/raspi-extra-cmdline
edit_extra_cmdline() {
    [[ -f $DESTDIR/etc/default/raspi-firmware ]] || return 0
    local file=$DESTDIR$EXTRA_CMDLINE first_line="" rest="" line
    if [[ -f $file ]]; then
        first_line=$(head -n 1 -- "$file")
        rest=$(tail -n +2 -- "$file")
    fi
    line=$(with_kiosk_settings "$first_line")
    if [[ $line == "$first_line" ]]; then
        unchanged "$EXTRA_CMDLINE: consoleblank=0${ROTATE:+, rotate=$ROTATE} (kept by raspi-firmware)"
        return 0
    fi
    change "$EXTRA_CMDLINE: $line (raspi-firmware rewrites cmdline.txt)" \
        write_cmdline "$file" "$line" "$rest"
}

write_cmdline() {
    local file=$1 line=$2 rest=$3
    if [[ -n $rest ]]; then
        printf '%s\n%s\n' "$line" "$rest" >"$file"
    else
        printf '%s\n' "$line" >"$file"
    fi
}

apply_udev_and_modules() {
    step "udev and kernel modules"
    if ((RULES_CHANGED)); then
        system_change "reload the udev rules" udevadm control --reload
        # Readers plugged in already get their group and mode now, not at the next plug.
        system_change "apply them to plugged-in readers" \
            udevadm trigger --action=change --subsystem-match=usb --subsystem-match=tty
    else
        unchanged "udev rules in effect"
    fi
    if [[ -n $DESTDIR ]]; then
        ((!BLACKLIST_CHANGED)) || system_change "unload the kernel NFC drivers if loaded" \
            modprobe -r "${NFC_KERNEL_DRIVERS[@]}"
        return 0
    fi
    local module
    local -a loaded=()
    for module in "${NFC_KERNEL_DRIVERS[@]}"; do
        grep -qs "^$module " /proc/modules && loaded+=("$module")
    done
    if ((${#loaded[@]} == 0)); then
        unchanged "no kernel NFC driver holds a reader"
        return 0
    fi
    # Blacklisting stops the next loading only; these were loaded before.
    system_change "unload kernel NFC drivers that hold a reader: ${loaded[*]}" \
        modprobe -r "${loaded[@]}" ||
        note "could not unload ${loaded[*]}: unplug the reader, or reboot"
}

enable_services() {
    step "Services"
    if ((UNITS_CHANGED)); then
        system_change "reload systemd's units" systemctl daemon-reload
    else
        unchanged "units loaded"
    fi
    if ((!ENABLE)); then
        note "--no-enable: not enabled, started or restarted: ${BOOT_UNITS[*]}"
        return 0
    fi
    # The services running before this run: only they run an old version. One started
    # below (a first install) runs the new one already, and a restart would only cost the
    # app a second start (found by make appliance-test: the first boot started it twice).
    local unit
    local -a running_before=()
    for unit in "${RUNNING_SERVICES[@]}"; do
        [[ -z $DESTDIR ]] && systemctl --quiet is-active "$unit" && running_before+=("$unit")
    done
    for unit in "${BOOT_UNITS[@]}"; do
        if [[ -z $DESTDIR ]] && systemctl --quiet is-enabled "$unit" 2>/dev/null &&
            systemctl --quiet is-active "$unit"; then
            unchanged "$unit enabled and running"
        else
            system_change "enable and start $unit" systemctl enable --now "$unit"
        fi
    done
    if ((CODE_CHANGED || UNITS_CHANGED)) && ((${#running_before[@]})); then
        # Running services pick up a new version or unit only at a restart.
        system_change "restart what runs an old version: ${running_before[*]}" \
            systemctl try-restart "${running_before[@]}"
    fi
}

# Read-only: the installed command loads the config as the service user would.
check_install() {
    step "Check"
    if [[ -n $DESTDIR || ! -x $VENV/bin/kiosk ]]; then
        note "not installed here: $VENV/bin/kiosk config show skipped"
        return 0
    fi
    local -a as_user=()
    getent passwd "$SERVICE_USER" >/dev/null && as_user=(runuser -u "$SERVICE_USER" --)
    local output
    if output=$("${as_user[@]}" "$VENV/bin/kiosk" config show 2>&1 >/dev/null); then
        unchanged "kiosk config show: $CONFIG_DIR/kiosk.toml is valid and readable"
    else
        note "WARNING: kiosk config show failed; the services will not start until this is fixed:"
        printf '%s\n' "$output" | sed 's/^/             /'
    fi
}

summary() {
    step "Summary"
    local verb=changed
    ((DRY_RUN)) && verb="would change (dry run: nothing was changed)"
    printf '    %d %s, %d already in place, %d skipped\n' "${#CHANGED[@]}" "$verb" \
        "$UNCHANGED" "${#SKIPPED[@]}"
    local item
    for item in "${CHANGED[@]}"; do
        printf '      - %s\n' "$item"
    done
    if ((CMDLINE_CHANGED)); then
        printf '    Reboot for the kernel command line to take effect: sudo reboot\n'
    fi
    if [[ -e $DESTDIR$DATA_DIR/crm-secret ]]; then
        printf '    This kiosk is provisioned (%s/crm-secret exists).\n' "$DATA_DIR"
    else
        printf '    Next: provision this kiosk with the code from the CRM, then check it:\n'
        printf '      sudo %s/bin/kiosk provision --crm https://crm.example --code CODE --store "Shop name"\n' "$VENV"
        printf '      sudo %s/bin/kiosk doctor\n' "$VENV"
    fi
    printf '    Logs: journalctl -u loyalty-kiosk -u loyalty-kiosk-sync\n'
}

check_system
install_packages
create_user
create_directories
install_project
install_files
edit_cmdline
edit_extra_cmdline
apply_udev_and_modules
enable_services
check_install
summary
