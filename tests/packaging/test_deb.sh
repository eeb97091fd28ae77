#!/usr/bin/env bash
# The Debian packages scripts/package makes from a build: their files, their
# desktop entry (desktop-file-validate), their dependencies (Debian 12
# packages only), escucha-hq's unit and maintainer scripts, and the programs
# running from a root the packages were unpacked into (dpkg -x).
# Usage: test_deb.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
SOURCE=$1
BUILD=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; exit 1; }

ESCUCHA_DEB_COMPRESSION=gzip "$SOURCE/scripts/package" "$BUILD" "$work/out" > "$work/package.log" 2>&1 || { cat "$work/package.log"; fail "scripts/package"; }
version=$(sed -n 's/^project(escucha VERSION \([0-9.]*\).*/\1/p' "$SOURCE/CMakeLists.txt")
arch=$(dpkg --print-architecture)
app_deb="$work/out/escucha_${version}_${arch}.deb"
hq_deb="$work/out/escucha-hq_${version}_${arch}.deb"
[ -f "$app_deb" ] && [ -f "$hq_deb" ] || { ls -l "$work/out"; fail "no escucha and escucha-hq packages for $arch"; }

# What each package declares.
for deb in "$app_deb" "$hq_deb"; do
  [ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || fail "$deb is not for $arch"
  [ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "$deb is not version $version"
  # Every file belongs to root: a package never installs a builder's uid.
  if dpkg-deb -c "$deb" | awk '{print $2}' | grep -v '^root/root$' | grep -q .; then
    dpkg-deb -c "$deb"; fail "$deb holds files not owned by root"
  fi
  # Every dependency (each alternative) is a package Debian has: apt knows them all at once.
  deps=$(dpkg-deb -f "$deb" Depends | tr ',|' '\n\n' | sed 's/(.*)//; s/^ *//; s/ *$//' | grep . | sort -u)
  known=$(apt-cache show --no-all-versions $deps 2> /dev/null | sed -n 's/^Package: //p' | sort -u)
  missing=$(comm -23 <(echo "$deps") <(echo "$known"))
  [ -z "$missing" ] || fail "$(basename "$deb") depends on packages Debian does not have: $missing"
done
dpkg-deb -f "$app_deb" Depends | grep -q "libglfw3" || fail "escucha does not depend on GLFW"
dpkg-deb -f "$hq_deb" Depends | grep -q "adduser" || fail "escucha-hq does not depend on adduser"
dpkg-deb -f "$hq_deb" Depends | grep -q "libglfw3" && fail "escucha-hq depends on GLFW"

# Unpacked into a root of its own.
root="$work/root"
dpkg -x "$app_deb" "$root"
dpkg -x "$hq_deb" "$root"
for f in usr/bin/escucha usr/bin/escucha-cli usr/bin/escucha-hq; do
  [ -x "$root/$f" ] || fail "$f is missing or not executable"
done
desktop="$root/usr/share/applications/escucha.desktop"
[ -f "$desktop" ] || fail "no desktop entry"
desktop-file-validate "$desktop" || fail "the desktop entry is not valid"
exec_name=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$desktop")
[ -x "$root/usr/bin/$exec_name" ] || fail "the desktop entry starts $exec_name, which the package does not hold"
icon=$(sed -n 's/^Icon=//p' "$desktop")
[ -f "$root/usr/share/icons/hicolor/scalable/apps/$icon.svg" ] || fail "no icon $icon in the hicolor theme"
grep -q '<svg' "$root/usr/share/icons/hicolor/scalable/apps/$icon.svg" || fail "the icon is not an SVG"
grep -q '^X-Purism-FormFactor=.*Mobile' "$desktop" || fail "the entry does not ask to be listed on Phosh"

# escucha-hq's service: its unit, a conffile for where it listens, the maintainer scripts.
unit="$root/lib/systemd/system/escucha-hq.service"
[ -f "$unit" ] || fail "no systemd unit"
cmp -s "$unit" "$SOURCE/packaging/escucha-hq.service" || fail "the unit is not packaging/escucha-hq.service"
grep -q '^User=escucha-hq$' "$unit" || fail "the unit does not run as escucha-hq"
grep -q '^ExecStart=/usr/bin/escucha-hq .*--data /var/lib/escucha-hq/data .*--key-file /etc/escucha-hq/hq.key' "$unit" \
  || fail "the unit does not serve /var/lib/escucha-hq/data with /etc/escucha-hq/hq.key"
[ "$(dpkg-deb -I "$hq_deb" conffiles)" = "/etc/default/escucha-hq" ] || fail "/etc/default/escucha-hq is not a conffile"
dpkg-deb -e "$hq_deb" "$work/control"
for s in postinst prerm postrm; do
  [ -x "$work/control/$s" ] || fail "escucha-hq has no $s"
  sh -n "$work/control/$s" || fail "escucha-hq's $s is not valid sh"
done
grep -q 'chmod 0600 /etc/escucha-hq/hq.key' "$work/control/postinst" || fail "postinst does not keep the key at 0600"
if command -v systemd-analyze > /dev/null; then
  sed "s|/usr/bin/escucha-hq|$root/usr/bin/escucha-hq|" "$unit" > "$work/escucha-hq.service"
  systemd-analyze verify "$work/escucha-hq.service" 2>&1 | grep -v -e "not found" -e "^$" | grep . && fail "systemd-analyze finds fault with the unit"
fi

# The programs run from where the package put them.
# (Read whole before matching: grep -q stopping early would cut the program off.)
[ "$("$root/usr/bin/escucha" --version)" = "escucha $version" ] || fail "escucha --version"
grep -q "^escucha-cli: " <<< "$("$root/usr/bin/escucha-cli" --help)" || fail "escucha-cli --help"
grep -q "headquarters server" <<< "$("$root/usr/bin/escucha-hq" --help 2>&1)" || fail "escucha-hq --help"
# escucha-hq new-key, as postinst runs it, writes a key its owner alone reads.
"$root/usr/bin/escucha-hq" new-key "$work/hq.key" > /dev/null
[ "$(stat -c %a "$work/hq.key")" = 600 ] || fail "escucha-hq new-key did not write a 0600 key"
echo "packages: escucha and escucha-hq for $arch, version $version: 1 passed, 0 failed"
