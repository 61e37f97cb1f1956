#!/usr/bin/env bash
# Install kubectl-hyperpod (run as `kubectl hyperpod ...`) from this source tree:
#   $PREFIX/bin/kubectl-hyperpod                          the plugin
#   $PREFIX/bin/kubectl_complete-hyperpod                 completion of `kubectl hyperpod <TAB>` (kubectl >= 1.26)
#   $PREFIX/share/bash-completion/completions/kubectl-hyperpod
#   $PREFIX/share/zsh/site-functions/_kubectl-hyperpod
#   $PREFIX/share/fish/vendor_completions.d/kubectl-hyperpod.fish
#   $PREFIX/share/man/man1/kubectl-hyperpod*.1            one page per command
# Idempotent: re-running replaces the same files. --uninstall removes exactly these files.
# Progress and warnings go to stderr; the list of files installed or removed to stdout.
set -euo pipefail

NAME=kubectl-hyperpod
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  cat <<EOF
Usage: ./install.sh [--prefix DIR] [--from-target DIR] [--uninstall]

Builds $NAME with cargo (release profile) and installs it, its shell completions and
its man pages under a prefix, then checks that \`kubectl plugin list\` finds it.

Options:
  --prefix DIR       install under DIR (bin/, share/) [default: \$PREFIX, else ~/.local]
  --from-target DIR  do not build: install DIR/$NAME, a binary built before
                     (e.g. target/release) [also: \$HP_INSTALL_FROM]
  --uninstall        remove what an install under the prefix put there
  -h, --help         show this help

Examples:
  ./install.sh                                   # build and install into ~/.local
  ./install.sh --prefix /usr/local               # system-wide (run with sudo)
  ./install.sh --from-target target/release      # reuse a binary already built
  ./install.sh --uninstall
EOF
}

say() { printf 'install.sh: %s\n' "$*" >&2; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

PREFIX="${PREFIX:-$HOME/.local}"
FROM="${HP_INSTALL_FROM:-}"
UNINSTALL=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; PREFIX="$2"; shift 2 ;;
    --prefix=*) PREFIX="${1#*=}"; shift ;;
    --from-target) [ $# -ge 2 ] || die "--from-target needs a directory"; FROM="$2"; shift 2 ;;
    --from-target=*) FROM="${1#*=}"; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[ -n "$PREFIX" ] || die "--prefix must not be empty"
case "$PREFIX" in /*) ;; *) PREFIX="$(pwd)/$PREFIX" ;; esac
PREFIX="${PREFIX%/}"

BIN_DIR="$PREFIX/bin"
BASH_DIR="$PREFIX/share/bash-completion/completions"
ZSH_DIR="$PREFIX/share/zsh/site-functions"
FISH_DIR="$PREFIX/share/fish/vendor_completions.d"
MAN_DIR="$PREFIX/share/man/man1"
BIN="$BIN_DIR/$NAME"
COMPLETE_BIN="$BIN_DIR/kubectl_complete-hyperpod"
BASH_FILE="$BASH_DIR/$NAME"
ZSH_FILE="$ZSH_DIR/_$NAME"
FISH_FILE="$FISH_DIR/$NAME.fish"

# Removes the man pages this tool installs (also those of commands a newer version dropped).
remove_man_pages() {
  local page
  for page in "$MAN_DIR/$NAME.1" "$MAN_DIR/$NAME"-*.1; do
    if [ -e "$page" ]; then
      rm -f -- "$page"
      printf '%s\n' "$page"
    fi
  done
}

if [ "$UNINSTALL" = 1 ]; then
  for f in "$BIN" "$COMPLETE_BIN" "$BASH_FILE" "$ZSH_FILE" "$FISH_FILE"; do
    if [ -e "$f" ] || [ -L "$f" ]; then
      rm -f -- "$f"
      printf '%s\n' "$f"
    fi
  done
  remove_man_pages
  say "uninstalled $NAME from $PREFIX"
  exit 0
fi

# ---- the binary: built here, or taken from --from-target ---------------------------------
if [ -n "$FROM" ]; then
  SRC="${FROM%/}/$NAME"
  [ -f "$SRC" ] && [ -x "$SRC" ] || die "--from-target: no executable $NAME in $FROM"
else
  command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH, and it is needed to build $NAME.
  Install Rust (https://rustup.rs), open a new shell, and re-run ./install.sh;
  or pass --from-target DIR to install a binary built elsewhere."
  [ -f "$SCRIPT_DIR/Cargo.toml" ] || die "no Cargo.toml next to install.sh: run it from a clone of the repository"
  say "building $NAME (cargo build --release --locked; the first build takes a few minutes)"
  # Ask cargo where it put the binary (CARGO_TARGET_DIR, build.target-dir...); fall back to the default.
  messages="$(cargo build --release --locked --bin "$NAME" --manifest-path "$SCRIPT_DIR/Cargo.toml" \
                --message-format=json-render-diagnostics)" \
    || die "cargo build failed (its errors are above)"
  SRC="$(printf '%s\n' "$messages" | grep -o '"executable":"[^"]*"' | tail -n 1 \
           | sed 's/^"executable":"//; s/"$//' || true)"
  [ -n "$SRC" ] || SRC="${CARGO_TARGET_DIR:-$SCRIPT_DIR/target}/release/$NAME"
  [ -x "$SRC" ] || die "cargo reported no executable at $SRC"
fi

# ---- install ---------------------------------------------------------------------------
mkdir -p "$BIN_DIR" "$BASH_DIR" "$ZSH_DIR" "$FISH_DIR" "$MAN_DIR" \
  || die "cannot create directories under $PREFIX (for a system prefix, run with sudo)"

# Writes the output of a command to DEST through a temporary file in the same directory, so the
# replacement is atomic (a running plugin, or a shell reading the old script, never sees half a file).
put() { # DEST MODE COMMAND...
  local dest="$1" mode="$2" tmp
  shift 2
  tmp="$(mktemp "$(dirname "$dest")/.$(basename "$dest").XXXXXX")" || die "could not write in $(dirname "$dest")"
  if "$@" >"$tmp" && chmod "$mode" "$tmp" && mv -f "$tmp" "$dest"; then
    printf '%s\n' "$dest"
  else
    rm -f "$tmp"
    die "could not write $dest"
  fi
}

put "$BIN" 0755 cat "$SRC"
VERSION="$("$BIN" --version 2>/dev/null)" || die "the installed $BIN does not run ($BIN --version failed)"

put "$COMPLETE_BIN" 0755 printf '%s\n' '#!/bin/sh' \
  '# Completion of `kubectl hyperpod <TAB>`: kubectl runs this with the words typed so far.' \
  "exec $(printf '%q' "$BIN") __complete \"\$@\""
put "$BASH_FILE" 0644 "$BIN" completion bash
put "$ZSH_FILE" 0644 "$BIN" completion zsh
put "$FISH_FILE" 0644 "$BIN" completion fish
remove_man_pages >/dev/null
"$BIN" man --dir "$MAN_DIR" -q || die "could not write the man pages to $MAN_DIR"

say "installed $VERSION into $PREFIX"

# ---- checks: PATH, kubectl plugin discovery --------------------------------------------
on_path=0
case ":$PATH:" in *":$BIN_DIR:"*|*":$BIN_DIR/:"*) on_path=1 ;; esac
if [ "$on_path" = 0 ]; then
  warn "$BIN_DIR is not on your PATH, so kubectl will not find the plugin. Add it, e.g. in ~/.bashrc or ~/.zshrc:
    export PATH=\"$BIN_DIR:\$PATH\""
  check_path="$BIN_DIR:$PATH"
else
  check_path="$PATH"
  found="$(command -v "$NAME" || true)"
  if [ -n "$found" ] && [ "$found" != "$BIN" ]; then
    warn "another $NAME comes first on PATH and shadows this one: $found"
  fi
fi

if KUBECTL="$(PATH="$check_path" command -v kubectl)"; then
  # `kubectl plugin list` exits non-zero when it has warnings (e.g. shadowed plugins): read its
  # output, not its exit code.
  list="$(PATH="$check_path" "$KUBECTL" plugin list 2>&1 || true)"
  if printf '%s\n' "$list" | grep -qxF "$BIN"; then
    if [ "$on_path" = 1 ]; then
      say "kubectl plugin list finds $BIN: run \`kubectl hyperpod version\`"
    else
      say "kubectl plugin list finds $BIN once $BIN_DIR is on PATH"
    fi
    if printf '%s\n' "$list" | grep -F "$BIN" | grep -qi 'warning'; then
      warn "kubectl reports: $(printf '%s\n' "$list" | grep -F "$BIN" | grep -i warning)"
    fi
  else
    printf '%s\n' "$list" >&2
    die "kubectl plugin list does not show $BIN (its output is above)"
  fi
else
  warn "kubectl is not on PATH: install it (https://kubernetes.io/docs/tasks/tools/) to run \`kubectl hyperpod\`; \`$NAME\` works on its own meanwhile"
fi

# ---- where the shells and man look -----------------------------------------------------
# Under /usr and /usr/local every shell and man look by default; elsewhere, say what is needed.
case "$PREFIX" in
  /usr|/usr/local) ;;
  *)
    say "bash loads the completion when bash-completion (>= 2.9) is installed and $BIN_DIR is on PATH"
    if command -v zsh >/dev/null 2>&1; then
      say "zsh: put  fpath=(\"$ZSH_DIR\" \$fpath)  before compinit in ~/.zshrc"
    fi
    if command -v fish >/dev/null 2>&1; then
      say "fish: loads the completion when $PREFIX/share is in XDG_DATA_DIRS; otherwise run: $NAME completion fish > ~/.config/fish/completions/$NAME.fish"
    fi
    say "man: \`man $NAME\` finds the pages when $BIN_DIR is on PATH (man-db), otherwise add $PREFIX/share/man to MANPATH" ;;
esac
