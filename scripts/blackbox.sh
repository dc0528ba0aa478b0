#!/usr/bin/env bash
# Extracts ZXing's "blackbox" test photos of QR codes and Code 128 labels (the qrcode-* and code128-*
# folders of core/src/test/resources/blackbox, 228 images at zxing commit 7f12980) with the text each
# should decode to, as a benchmark set for the scanner's decoder:
#   <out>/<folder>/<image>  and  <out>/<folder>/<stem>.txt (or .bin: raw bytes, where ZXing has one)
# ZXing's *.metadata.txt files (symbology identifier, errors corrected) are left out: only the text
# is compared. Expected files may lack a trailing newline; compare after trimming one.
#
# Usage: scripts/blackbox.sh [out]   (default target/blackbox; a relative out is from the repo root)
#   ZXING_GIT=/path/to/zxing.git  read from an existing ZXing git dir (a bare mirror works; no network)
#   unset                         sparse, blob-less clone of github.com/zxing/zxing: needs network
# Running it again gives the same tree: each folder is rewritten whole, so nothing stale survives.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/blackbox}
src=core/src/test/resources/blackbox
pick='^(qrcode|code128)-[0-9]+$'

if [[ -z ${ZXING_GIT:-} ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # Blob-less and sparse: the repository's full history of test images is hundreds of MB; this
  # fetches the trees, then only the blobs of the folders we check out.
  git clone -q --depth 1 --filter=blob:none --sparse https://github.com/zxing/zxing "$tmp/zxing"
  mapfile -t dirs < <(git -C "$tmp/zxing" ls-tree --name-only HEAD "$src/" | grep -E "/${pick:1}")
  git -C "$tmp/zxing" sparse-checkout set "${dirs[@]}"
  ZXING_GIT=$tmp/zxing/.git
fi
g() { git --git-dir="$ZXING_GIT" "$@"; }

total=0
for folder in $(g ls-tree --name-only HEAD "$src/" | xargs -n1 basename | grep -E "$pick" | sort -V); do
  rm -rf "${out:?}/$folder"
  mkdir -p "$out/$folder"
  # "mode type sha<TAB>name" for every file of the folder, so each blob is looked up once.
  declare -A blob=()
  while IFS=$'\t' read -r meta name; do blob[$name]=${meta##* }; done \
    < <(g ls-tree HEAD "$src/$folder/" | sed "s|\t$src/$folder/|\t|")
  n=0
  for name in "${!blob[@]}"; do
    [[ $name =~ \.(png|jpe?g|gif)$ ]] || continue
    stem=${name%.*}
    g cat-file blob "${blob[$name]}" > "$out/$folder/$name"
    # An image without an expected text would be useless to the benchmark: fail loudly.
    if [[ -n ${blob[$stem.txt]:-} ]]; then g cat-file blob "${blob[$stem.txt]}" > "$out/$folder/$stem.txt"
    elif [[ -n ${blob[$stem.bin]:-} ]]; then g cat-file blob "${blob[$stem.bin]}" > "$out/$folder/$stem.bin"
    else echo "no expected text for $folder/$name" >&2; exit 1; fi
    n=$((n + 1))
  done
  unset blob
  printf '%-12s %4d images\n' "$folder" "$n"
  total=$((total + n))
done
printf '%-12s %4d images in %s (zxing %s)\n' total "$total" "$out" "$(g rev-parse --short HEAD)"
