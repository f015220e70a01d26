#!/usr/bin/env bash
# Installs the Debian packages named as arguments, and only those that are missing:
#   scripts/system-deps.sh postgresql chromium gettext
# Runs no apt command at all when everything is present; refreshes apt's package lists only
# when they are empty or an install fails with the lists it has.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# True when what the project uses from the package is on the machine. Binaries are checked
# rather than package names, so that e.g. postgresql-15 without the metapackage counts.
is_present() {
    case "$1" in
        postgresql) compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ;;
        chromium) command -v chromium >/dev/null 2>&1 ;;
        gettext) command -v msgfmt >/dev/null 2>&1 && command -v xgettext >/dev/null 2>&1 ;;
        *) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed' ;;
    esac
}

missing=()
for package in "$@"; do
    is_present "$package" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

command -v apt-get >/dev/null 2>&1 \
    || die "missing system packages (${missing[*]}) and no apt-get to install them; install them by hand"
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    die "missing system packages (${missing[*]}): run as root or install sudo"
fi

export DEBIAN_FRONTEND=noninteractive
apt_install() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
}
apt_update() { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q; }

say "installing Debian packages: ${missing[*]}"
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    apt_update
    apt_install
elif ! apt_install; then
    say "install failed with the current package lists; refreshing them and retrying"
    apt_update
    apt_install
fi

for package in "${missing[@]}"; do
    is_present "$package" || die "installed $package but it is still not usable"
done
