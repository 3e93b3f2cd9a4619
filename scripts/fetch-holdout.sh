#!/usr/bin/env bash
# Fetches the held-out sentiment check set and prints its path: the 1,000
# Amazon product-review sentences of the UCI Sentiment Labelled Sentences
# set (Kotzias et al., KDD 2015), as shipped in the npm package
# wink-sentiment@5.0.2 (test/data/amazon_cells_labelled.txt, MIT package).
# No rule of the nlp package was read from it; TestHoldout reports on it.
# The file is not copied into this repository: it is fetched with npm into
# the cache (COMMPULSE_CACHE_DIR, default ~/.cache/commpulse) and checked
# against a pinned sha256.
#
#   COMMPULSE_HOLDOUT_AMAZON=$(bash scripts/fetch-holdout.sh) go test ./nlp -run TestHoldout -v
set -euo pipefail
pkg=wink-sentiment@5.0.2
want=47003fc0a0d4840b00e96e715b6189bad09e7443a3da41c4cbe12ffc79f86ae3
dir="${COMMPULSE_CACHE_DIR:-$HOME/.cache/commpulse}/holdout"
out="$dir/amazon_cells_labelled.txt"
if [ -f "$out" ] && [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$want" ]; then
  echo "$out"; exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-holdout: npm pack $pkg" >&2
(cd "$tmp" && npm pack "$pkg" --silent >/dev/null)
tar -xzf "$tmp"/wink-sentiment-*.tgz -C "$tmp" package/test/data/amazon_cells_labelled.txt
got=$(sha256sum "$tmp/package/test/data/amazon_cells_labelled.txt" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
  echo "fetch-holdout: sha256 $got, want $want" >&2; exit 1
fi
mv "$tmp/package/test/data/amazon_cells_labelled.txt" "$out"
echo "$out"
