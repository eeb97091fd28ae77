# Debian 12 packages Escucha needs, and a function that installs the missing ones.
# Sourced by scripts/run and scripts/test.

ESCUCHA_BUILD_PACKAGES=(
  g++ cmake ninja-build pkg-config ccache
  libsqlcipher-dev libsodium-dev nlohmann-json3-dev
  libcurl4-openssl-dev libcpp-httplib-dev libssl-dev zlib1g-dev libbrotli-dev
  libboost-dev     # headquarters' HTTP server: Boost.Beast and Boost.Asio, header-only
  libimgui-dev libstb-dev libglfw3-dev libgl-dev fonts-noto-core libgl1-mesa-dri
  libopusenc-dev libopusfile-dev libsndfile1-dev   # recordings: Opus in Ogg; files from other devices
  portaudio19-dev libsoundtouch-dev   # the window app records and plays through the sound card, at 0.5-2x with the pitch kept
  libzip-dev libxml2-dev   # REFI-QDA exchange: .qdpx archives written and read, XML read
  libpqxx-dev      # headquarters' PostgreSQL store (escucha-hq --store postgresql://...)
  libdbus-1-dev    # the window app asks a phone's on-screen keyboard up over the session bus
)
ESCUCHA_TEST_PACKAGES=(
  catch2
  sqlcipher        # the recovery tests open a vault with the plain sqlcipher shell
  python3-argon2   # ...and derive its key from the passphrase without Escucha
  openssl          # the TLS tests make self-signed certificates
  xvfb xdotool x11-xserver-utils imagemagick   # the window app's end-to-end test: a real window, real keys, screen DPI, screenshots
  espeak-ng sox    # real speech in Spanish and French for the recording tests
  opus-tools       # ...and voice notes as another program encodes them (opusenc), for chat imports
  libxml2-utils unzip   # REFI-QDA exports checked by xmllint against the schemas, unpacked by unzip
  postgresql-15    # headquarters' PostgreSQL tests start a real server (initdb, pg_ctl) and read a pg_dump
  dbus-daemon      # ...and a private session bus for the on-screen keyboard's test
  dpkg-dev desktop-file-utils   # the .deb packages: dependencies by dpkg-shlibdeps, the desktop entry checked
  locales          # a locale with a decimal comma (es_CO) built by localedef, for the metrics test
)

# install_packages NAME...: installs those of the named packages that are missing.
install_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "These Debian packages are missing: ${missing[*]}" >&2
      echo "Run this script as root, or install them with apt-get first." >&2
      exit 1
    fi
  fi
  echo "Installing Debian packages: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}
