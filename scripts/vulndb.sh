#!/usr/bin/env bash
# vulndb.sh builds an offline Go vulnerability database (the layout served
# by vuln.go.dev and read by `govulncheck -db file:///DIR`) from a copy of the
# public golang/vulndb repository, using that repository's own tools.
#
# Usage: scripts/vulndb.sh SRC OUT  (make vulncheck VULNDB_SRC=SRC runs it, then govulncheck)
#   SRC  a golang/vulndb git dir (bare mirror or clone) or a work tree / plain
#        source dir (e.g. from `git archive`) containing data/osv/*.json
#   OUT  output dir; gets index/{db,modules,vulns}.json[.gz] and ID/GO-*.json[.gz]
#
# How:
#   - SRC is a git repo: build vulndb's cmd/gendb and run it on a temporary
#     bare clone. gendb is what produces vuln.go.dev: it takes each entry's
#     "modified" time from the git history of data/osv. Blobs missing from a
#     partial mirror are dropped from a throwaway commit on top of HEAD (gendb
#     reads every file in HEAD; it only needs data/osv).
#   - SRC is a plain source dir: build cmd/indexdb and run it on data/osv. Same
#     output except that "modified" times are those in the files
#     (0001-01-01T00:00:00Z in the repo, so govulncheck shows no DB date).
#   - If neither tool builds (its deps are not on the module proxy), copy
#     data/osv/*.json flat into OUT: govulncheck >= v1.0 reads a flat folder of
#     OSV files too, building the index in memory (an undocumented mode).
# Needs: bash, git, go (>= the vulndb go.mod toolchain, or a GOPROXY that has
# golang.org/toolchain), a Go module proxy. Writes OUT atomically (OUT.tmp.* -> OUT).
set -euo pipefail

usage() { echo "usage: $0 VULNDB_GIT_DIR_OR_SOURCE_DIR OUT_DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
SRC=$(cd "$1" && pwd) || usage
OUT=$2
mkdir -p "$(dirname "$OUT")"
OUT=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vulndb-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
NEW="$OUT.tmp.$$"
rm -rf "$NEW"
log() { echo "build-db [${SECONDS}s]: $*" >&2; }

# Is SRC a git repository (bare, or a work tree with .git)?
GITDIR=""
# (Only SRC itself, not an enclosing repository that SRC happens to sit in.)
if g=$(git -C "$SRC" rev-parse --absolute-git-dir 2>/dev/null) &&
   [[ $g == "$SRC" || $g == "$SRC/.git" ]] &&
   git --git-dir="$g" rev-parse -q --verify HEAD >/dev/null; then
  GITDIR=$g
fi

if [[ -n $GITDIR ]]; then
  G=(git --git-dir="$GITDIR")
  log "git repo $GITDIR at $("${G[@]}" log -1 --format='%h %cI')"
  # Paths in HEAD whose blobs are absent (partial mirrors omit large files).
  missing=$("${G[@]}" rev-list --objects --missing=print HEAD | sed -n 's/^?//p' || true)
  drop=()
  if [[ -n $missing ]]; then
    mapfile -t drop < <("${G[@]}" ls-tree -r --full-tree HEAD | awk -F'\t' \
      'NR==FNR {m[$1]=1; next} {split($1, a, " "); if (a[3] in m) print $2}' <(echo "$missing") -)
  fi
  if ((${#drop[@]})); then log "blobs missing from HEAD, ignored: ${drop[*]}"; fi
  # Bare clone that gendb can read: go-git does not follow alternates, so no
  # --shared; HEAD moved to a commit without the missing blobs (if any).
  git clone -q --bare "$GITDIR" "$WORK/repo.git"
  W=(git --git-dir="$WORK/repo.git")
  if ((${#drop[@]})); then
    export GIT_INDEX_FILE="$WORK/index"
    "${W[@]}" read-tree HEAD
    "${W[@]}" rm -q --cached -- "${drop[@]}"
    c=$(GIT_AUTHOR_NAME=build-db GIT_AUTHOR_EMAIL=build-db@localhost \
        GIT_COMMITTER_NAME=build-db GIT_COMMITTER_EMAIL=build-db@localhost \
        "${W[@]}" commit-tree "$("${W[@]}" write-tree)" -p HEAD -m "build-db: drop missing blobs")
    unset GIT_INDEX_FILE
    "${W[@]}" update-ref HEAD "$c"
  fi
  # Source tree for building the tools.
  mkdir "$WORK/src"
  "${W[@]}" archive HEAD | tar -x -C "$WORK/src"
  SRCDIR=$WORK/src
else
  SRCDIR=$SRC
fi
[[ -d $SRCDIR/data/osv ]] || { log "no data/osv in $SRCDIR"; exit 1; }
log "$(find "$SRCDIR/data/osv" -name 'GO-*.json' | wc -l) OSV entries"

# Build the repo's own tool (gendb for git input, indexdb otherwise).
tool=indexdb; [[ -n $GITDIR ]] && tool=gendb
if (cd "$SRCDIR" && go build -trimpath -o "$WORK/$tool" "./cmd/$tool") >"$WORK/build.log" 2>&1; then
  log "built cmd/$tool"
  if [[ $tool == gendb ]]; then
    "$WORK/gendb" -repo "$WORK/repo.git" -out "$NEW"
  else
    "$WORK/indexdb" -vulns "$SRCDIR/data/osv" -out "$NEW"
  fi
else
  log "cmd/$tool did not build (see below); falling back to a flat OSV folder"
  tail -5 "$WORK/build.log" >&2
  mkdir -p "$NEW"
  cp "$SRCDIR"/data/osv/GO-*.json "$NEW"/
fi

# Sanity check, then swap into place.
if [[ -f $NEW/index/modules.json ]]; then
  log "db.json: $(cat "$NEW/index/db.json"); $(ls "$NEW/ID" | grep -c '\.json$') entries"
fi
rm -rf "$OUT"
mv "$NEW" "$OUT"
log "done: govulncheck -db file://$OUT ./..."
