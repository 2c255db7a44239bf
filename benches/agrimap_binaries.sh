# Sourced by bench scripts that compare builds in one run: sets the array
# `binaries` to the agrimap binaries given (space-separated, e.g. a build of
# the commit before and this checkout's), or, when none are given, to this
# checkout's, built in release.

agrimap_binaries() {
  if [ -n "${1:-}" ]; then
    read -r -a binaries <<<"$1"
  else
    echo "building agrimap (release)" >&2
    cargo build --release -p agrimap
    binaries=("${CARGO_TARGET_DIR:-target}/release/agrimap")
  fi
}
