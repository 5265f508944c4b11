#!/usr/bin/env bash
# Install the desktop entry, the AppStream metadata and the icon under PREFIX (default ~/.local).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${1:-$HOME/.local}"
APP_ID=io.github.faceorg.faceorg
install -Dm644 "$ROOT/packaging/$APP_ID.desktop" "$PREFIX/share/applications/$APP_ID.desktop"
install -Dm644 "$ROOT/packaging/$APP_ID.metainfo.xml" "$PREFIX/share/metainfo/$APP_ID.metainfo.xml"
install -Dm644 "$ROOT/resources/faceorg.svg" "$PREFIX/share/icons/hicolor/scalable/apps/$APP_ID.svg"
if [[ -x "$ROOT/dist/faceorg/faceorg" ]]; then
    mkdir -p "$PREFIX/bin"
    ln -sf "$ROOT/dist/faceorg/faceorg" "$PREFIX/bin/faceorg"
fi
command -v update-desktop-database >/dev/null && update-desktop-database -q "$PREFIX/share/applications" || true
echo "installed $APP_ID under $PREFIX"
