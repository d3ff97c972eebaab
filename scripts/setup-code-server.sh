#!/usr/bin/env bash
# Installs what the offline end-to-end tests (test/vscode/run.mjs) need, on Debian 12:
#   - apt: chromium (the browser) and a font, ripgrep (VS Code's search binary), and what compiles
#     code-server's native modules (build-essential, python3, libkrb5-dev);
#   - code-server 4.100.3 (= VS Code 1.100.3, the last release on Node 20) into test/vscode/.server/,
#     from the lockfiles in test/vscode/server-deps/, without its postinstall (which refuses root and
#     downloads things): native modules are rebuilt from source and the links it would make are made here.
#
# Idempotent: a stamp records what was installed; when it matches, the script returns in well under a
# second. FORCE=1 reinstalls. Needs the npm registry and the Debian mirror, nothing else.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deps="$root/test/vscode/server-deps"
server="$root/test/vscode/.server"
cs="$server/node_modules/code-server"
vscode="$cs/lib/vscode"
stamp="$server/.install-stamp"

log() { printf '[setup-code-server] %s\n' "$*"; }
die() { printf '[setup-code-server] error: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------------------------------- apt packages
# fonts-liberation is only a Recommends of chromium: without it, failure screenshots show no text.
apt_packages=(chromium fonts-liberation ripgrep libkrb5-dev build-essential python3 ca-certificates)
missing=()
for pkg in "${apt_packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root (or sudo) to apt-get install: ${missing[*]}"
    sudo="sudo"
  fi
  log "apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# ------------------------------------------------------------------------------------------- code-server
node_version="$(node --version)"
case "$node_version" in
  v20.*) ;;
  *) die "code-server 4.100.3 needs Node 20; found $node_version" ;;
esac

want="$(cat "$deps/package.json" "$deps/package-lock.json" "$deps/vscode-npm-shrinkwrap.json" "${BASH_SOURCE[0]}" \
  | sha256sum | cut -c1-16) node-$node_version"
natives=(
  "$server/node_modules/argon2/lib/binding/napi-v3/argon2.node"
  "$vscode/node_modules/kerberos/build/Release/kerberos.node"
  "$vscode/node_modules/node-pty/build/Release/pty.node"
  "$vscode/node_modules/@vscode/spdlog/build/Release/spdlog.node"
  "$vscode/node_modules/native-watchdog/build/Release/watchdog.node"
  "$vscode/node_modules/@vscode/ripgrep/bin/rg"
  "$vscode/extensions/node_modules/typescript/package.json"
)
installed=1
[ "${FORCE:-0}" = 1 ] && installed=0
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] || installed=0
for f in "${natives[@]}"; do [ -e "$f" ] || installed=0; done
if [ "$installed" = 1 ]; then
  log "code-server $(node -p "require('$cs/package.json').version") already installed in ${server#"$root"/}"
  exit 0
fi

started=$SECONDS
# node-gyp must not try to download Node's headers (there is no internet): use the installed ones.
node_prefix="$(dirname "$(dirname "$(command -v node)")")"
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi
# Build native modules from source: no prebuilt-binary downloads from GitHub (deterministic, offline).
export npm_config_build_from_source=true
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
npm_quiet=(--no-audit --no-fund --loglevel=error)

log "installing code-server into ${server#"$root"/} (node $node_version)"
rm -rf "$server"
mkdir -p "$server"
cp "$deps/package.json" "$deps/package-lock.json" "$server/"
(cd "$server" && npm ci --ignore-scripts "${npm_quiet[@]}")
(cd "$server" && npm rebuild argon2 "${npm_quiet[@]}")

log "installing VS Code's server dependencies"
# code-server's own npm-shrinkwrap.json for lib/vscode lacks tslib (npm ci refuses it); ours is the same
# tree plus tslib, as `npm install` resolved it.
cp "$deps/vscode-npm-shrinkwrap.json" "$vscode/npm-shrinkwrap.json"
(cd "$vscode" && npm ci --omit=dev --ignore-scripts "${npm_quiet[@]}")
(cd "$vscode" && npm rebuild @parcel/watcher kerberos @vscode/deviceid @vscode/spdlog native-watchdog "${npm_quiet[@]}")
# node-pty builds pty.node in its install step; its postinstall then runs `npx node-gyp configure` to
# write compile_commands.json, which fails offline. The build itself is checked below.
(cd "$vscode" && npm rebuild node-pty "${npm_quiet[@]}" >/dev/null 2>&1) || true

# @vscode/ripgrep downloads its binary in postinstall: use Debian's.
mkdir -p "$vscode/node_modules/@vscode/ripgrep/bin"
ln -sfn "$(command -v rg)" "$vscode/node_modules/@vscode/ripgrep/bin/rg"

# The links code-server's postinstall.sh makes.
ln -sfn node_modules "$vscode/node_modules.asar"
ln -sfn code-linux.sh "$vscode/bin/remote-cli/code-server"
ln -sfn browser-linux.sh "$vscode/bin/helpers/browser.sh"

log "installing the built-in extensions' dependencies"
(cd "$vscode/extensions" && npm ci --omit=dev "${npm_quiet[@]}" >/dev/null)

for f in "${natives[@]}"; do [ -e "$f" ] || die "missing after install: ${f#"$root"/}"; done
# Every native module must load in this Node.
(cd "$vscode" && node -e '
  for (const m of ["kerberos", "node-pty", "@vscode/spdlog", "native-watchdog", "@parcel/watcher"]) require(m);
  require(process.argv[1]);
' "$server/node_modules/argon2") || die "a native module does not load"

echo "$want" >"$stamp"
log "done in $((SECONDS - started)) s ($(du -sh "$server" | cut -f1))"
