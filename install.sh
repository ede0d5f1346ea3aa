#!/usr/bin/env bash
# Install (or uninstall) skydeck, its themes and plugins for the current user.
#
# Usage: install.sh [--prefix DIR] [--binary PATH] [--uninstall] [--help]
set -euo pipefail

PROG=${0##*/}
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)

PREFIX=${PREFIX:-$HOME/.local}
CONFIG_DIR=${XDG_CONFIG_HOME:-$HOME/.config}/skydeck
BINARY=""
UNINSTALL=0

usage() {
    cat <<EOF
Usage: $PROG [--prefix DIR] [--binary PATH] [--uninstall] [--help]

Build skydeck and install it for the current user.

Options:
  --prefix DIR    install the binary to DIR/bin/skydeck
                  (default: \$PREFIX, else \$HOME/.local; now: $PREFIX)
  --binary PATH   install this prebuilt binary instead of running
                  'cargo build --release --locked' (for packagers and tests)
  --uninstall     remove the binary and the shipped themes/plugins installed
                  by this script; user-added files and config.toml are kept
  -h, --help      show this help and exit

Themes and plugins go to $CONFIG_DIR/{themes,plugins}/
(\$XDG_CONFIG_HOME/skydeck, default ~/.config/skydeck). An existing config.toml
is never touched. If you changed a shipped theme or plugin, your file is kept
and the shipped version is written beside it as NAME.toml.new.
Installed files are listed in $CONFIG_DIR/.installed-files.
EOF
}

die() {
    printf '%s: error: %s\n' "$PROG" "$1" >&2
    shift
    local line
    for line in "$@"; do
        printf '%s\n' "$line" >&2
    done
    exit 1
}

note() {
    printf '%s\n' "$*"
}

# ---------------------------------------------------------------- arguments --
while [ $# -gt 0 ]; do
    case $1 in
        --prefix)
            { [ $# -ge 2 ] && [ -n "$2" ]; } || die "--prefix needs a directory argument" "Try '$PROG --help'."
            PREFIX=$2
            shift 2
            ;;
        --prefix=*)
            PREFIX=${1#--prefix=}
            [ -n "$PREFIX" ] || die "--prefix needs a directory argument" "Try '$PROG --help'."
            shift
            ;;
        --binary)
            { [ $# -ge 2 ] && [ -n "$2" ]; } || die "--binary needs a file argument" "Try '$PROG --help'."
            BINARY=$2
            shift 2
            ;;
        --binary=*)
            BINARY=${1#--binary=}
            [ -n "$BINARY" ] || die "--binary needs a file argument" "Try '$PROG --help'."
            shift
            ;;
        --uninstall)
            UNINSTALL=1
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        --)
            shift
            [ $# -eq 0 ] || die "unexpected argument: $1" "Try '$PROG --help'."
            ;;
        *)
            if [ "${1#-}" != "$1" ]; then
                die "unknown option: $1" "Try '$PROG --help'."
            fi
            die "unexpected argument: $1" "Try '$PROG --help'."
            ;;
    esac
done

# Make paths absolute (the manifest records absolute paths) and drop trailing
# slashes.
absolute() {
    local p=$1
    case $p in
        /*) ;;
        *) p=$PWD/$p ;;
    esac
    while [ "${#p}" -gt 1 ] && [ "${p%/}" != "$p" ]; do
        p=${p%/}
    done
    printf '%s\n' "$p"
}

PREFIX=$(absolute "$PREFIX")
CONFIG_DIR=$(absolute "$CONFIG_DIR")
BIN_DIR=$PREFIX/bin
[ "$BIN_DIR" != "//bin" ] || BIN_DIR=/bin
DEST_BIN=$BIN_DIR/skydeck
MANIFEST=$CONFIG_DIR/.installed-files
SUBDIRS=(themes plugins)

shopt -s nullglob

# ------------------------------------------------------------------ helpers --
first_existing_ancestor() {
    local d=$1
    while [ ! -e "$d" ] && [ ! -L "$d" ]; do
        d=$(dirname -- "$d")
    done
    printf '%s\n' "$d"
}

# require_writable DIR HINT: DIR (or the ancestor that mkdir -p would create it
# in) must be a writable directory.
require_writable() {
    local dir=$1 hint=$2 anc
    anc=$(first_existing_ancestor "$dir")
    if [ ! -d "$anc" ]; then
        die "cannot write to $dir: $hint" "($anc exists and is not a directory)"
    fi
    if [ ! -w "$anc" ] || [ ! -x "$anc" ]; then
        die "cannot write to $dir: $hint" "($anc is not writable)"
    fi
}

# Shipped files: "<subdir>/<name>.toml" relative to SCRIPT_DIR.
shipped_files() {
    local sub f
    for sub in "${SUBDIRS[@]}"; do
        for f in "$SCRIPT_DIR/$sub"/*.toml; do
            if [ -f "$f" ]; then
                printf '%s\n' "$sub/${f##*/}"
            fi
        done
    done
    return 0
}

# Write the manifest from stdin: unique, sorted, existing files only.
write_manifest() {
    local tmp line
    tmp=$(mktemp "$CONFIG_DIR/.installed-files.XXXXXX")
    while IFS= read -r line; do
        if [ -n "$line" ] && { [ -e "$line" ] || [ -L "$line" ]; }; then
            printf '%s\n' "$line"
        fi
    done | LC_ALL=C sort -u >"$tmp"
    if [ -s "$tmp" ]; then
        chmod 644 "$tmp"
        mv -f -- "$tmp" "$MANIFEST"
    else
        rm -f -- "$tmp" "$MANIFEST"
    fi
}

read_manifest() {
    if [ -f "$MANIFEST" ]; then
        cat -- "$MANIFEST"
    fi
    return 0
}

in_list() {
    local needle=$1 item
    shift
    for item in "$@"; do
        [ "$item" = "$needle" ] && return 0
    done
    return 1
}

# ---------------------------------------------------------------- uninstall --
do_uninstall() {
    local -a manifest=() removed=() kept=()
    local line rel name sub f base

    if [ -f "$MANIFEST" ]; then
        mapfile -t manifest <"$MANIFEST"
    fi

    # The binary: the one under --prefix and any recorded in the manifest.
    local -a bins=("$DEST_BIN")
    for line in "${manifest[@]}"; do
        case $line in
            */bin/skydeck) in_list "$line" "${bins[@]}" || bins+=("$line") ;;
        esac
    done
    for f in "${bins[@]}"; do
        if [ -f "$f" ] || [ -L "$f" ]; then
            rm -f -- "$f"
            removed+=("$f")
        fi
    done

    # Shipped themes/plugins (names matching shipped ones), plus NAME.toml.new
    # files this script wrote (recorded in the manifest).
    local -a candidates=()
    while IFS= read -r rel; do
        candidates+=("$CONFIG_DIR/$rel" "$CONFIG_DIR/$rel.new")
    done < <(shipped_files)
    for line in "${manifest[@]}"; do
        for sub in "${SUBDIRS[@]}"; do
            case $line in
                "$CONFIG_DIR/$sub/"*.toml.new)
                    in_list "$line" "${candidates[@]}" || candidates+=("$line")
                    ;;
            esac
        done
    done

    for f in "${candidates[@]}"; do
        [ -f "$f" ] || continue
        case $f in
            *.toml.new)
                rm -f -- "$f"
                removed+=("$f")
                ;;
            *)
                sub=${f%/*}
                sub=${sub##*/}
                name=${f##*/}
                base=$SCRIPT_DIR/$sub/$name
                if cmp -s -- "$base" "$f"; then
                    rm -f -- "$f"
                    removed+=("$f")
                else
                    kept+=("$f")
                fi
                ;;
        esac
    done

    # Tidy up: the manifest and directories left empty.
    rm -f -- "$MANIFEST"
    for sub in "${SUBDIRS[@]}"; do
        rmdir -- "$CONFIG_DIR/$sub" 2>/dev/null || true
    done
    rmdir -- "$CONFIG_DIR" 2>/dev/null || true

    for f in "${removed[@]}"; do
        note "removed $f"
    done
    for f in "${kept[@]}"; do
        note "kept $f (modified by you; delete it by hand if unwanted)"
    done
    if [ "${#removed[@]}" -eq 0 ]; then
        note "Nothing to remove: skydeck is not installed in $PREFIX."
    else
        note "Uninstalled skydeck from $PREFIX (removed ${#removed[@]} file(s)); $CONFIG_DIR/config.toml, if any, was left alone."
    fi
}

# ------------------------------------------------------------------ install --
do_install() {
    # Validate everything before doing any (slow) work.
    if [ -n "$BINARY" ]; then
        [ -e "$BINARY" ] || die "binary not found: $BINARY (given with --binary)"
        [ -f "$BINARY" ] || die "not a regular file: $BINARY (given with --binary)"
        [ -r "$BINARY" ] || die "cannot read binary: $BINARY (given with --binary)"
    fi
    require_writable "$BIN_DIR" "choose another --prefix or run with permission"
    require_writable "$CONFIG_DIR" "set XDG_CONFIG_HOME to another directory or run with permission"

    local src
    if [ -n "$BINARY" ]; then
        src=$BINARY
    else
        command -v cargo >/dev/null 2>&1 ||
            die "cargo not found: install Rust from https://rustup.rs" \
                "(or pass --binary PATH to install a prebuilt skydeck)"
        note "Building skydeck (cargo build --release --locked) in $SCRIPT_DIR ..."
        (cd -- "$SCRIPT_DIR" && cargo build --release --locked) ||
            die "cargo build failed (see the output above)"
        local target_dir=${CARGO_TARGET_DIR:-target}
        case $target_dir in
            /*) ;;
            *) target_dir=$SCRIPT_DIR/$target_dir ;;
        esac
        src=$target_dir/release/skydeck
        [ -f "$src" ] || die "build finished but $src does not exist"
    fi

    # Binary: copy to a temporary file in the same directory (this doubles as
    # the test write), then rename over the old one (safe if it is running).
    mkdir -p -- "$BIN_DIR" 2>/dev/null ||
        die "cannot write to $BIN_DIR: choose another --prefix or run with permission"
    if ! [ "$src" -ef "$DEST_BIN" ]; then
        local tmp
        tmp=$(mktemp "$BIN_DIR/.skydeck.XXXXXX" 2>/dev/null) ||
            die "cannot write to $BIN_DIR: choose another --prefix or run with permission"
        if ! cp -- "$src" "$tmp"; then
            rm -f -- "$tmp"
            die "cannot copy $src to $BIN_DIR"
        fi
        chmod 755 "$tmp"
        mv -f -- "$tmp" "$DEST_BIN"
    fi
    chmod 755 "$DEST_BIN"

    # Themes and plugins.
    mkdir -p -- "$CONFIG_DIR" 2>/dev/null ||
        die "cannot write to $CONFIG_DIR: set XDG_CONFIG_HOME to another directory or run with permission"
    local -a installed=("$DEST_BIN") updated=() conflicts=()
    local rel from dest
    while IFS= read -r rel; do
        from=$SCRIPT_DIR/$rel
        dest=$CONFIG_DIR/$rel
        mkdir -p -- "${dest%/*}"
        if [ ! -e "$dest" ]; then
            cp -- "$from" "$dest"
            chmod 644 "$dest"
            installed+=("$dest")
            updated+=("$dest")
        elif cmp -s -- "$from" "$dest"; then
            # Already up to date; a leftover NAME.toml.new is obsolete.
            installed+=("$dest")
            if [ -f "$dest.new" ]; then
                rm -f -- "$dest.new"
            fi
        else
            # The user changed it: keep theirs, ship ours beside it.
            if ! cmp -s -- "$from" "$dest.new"; then
                cp -- "$from" "$dest.new"
                chmod 644 "$dest.new"
            fi
            installed+=("$dest.new")
            conflicts+=("$dest")
        fi
    done < <(shipped_files)

    { read_manifest; printf '%s\n' "${installed[@]}"; } | write_manifest

    note "Installed $DEST_BIN"
    local f
    for f in "${updated[@]}"; do
        note "Installed $f"
    done
    for f in "${conflicts[@]}"; do
        note "note: kept your modified $f; the shipped version is in $f.new"
    done
    if [ -e "$CONFIG_DIR/config.toml" ]; then
        note "Kept your $CONFIG_DIR/config.toml"
    fi

    local on_path
    case ":${PATH:-}:" in
        *":$BIN_DIR:"* | *":$BIN_DIR/:"*) on_path="$BIN_DIR is on your PATH" ;;
        *) on_path="$BIN_DIR is NOT on your PATH: add 'export PATH=\"$BIN_DIR:\$PATH\"' to your shell profile" ;;
    esac
    note "skydeck installed to $DEST_BIN (themes/plugins in $CONFIG_DIR); $on_path."
}

if [ "$UNINSTALL" -eq 1 ]; then
    do_uninstall
else
    do_install
fi
