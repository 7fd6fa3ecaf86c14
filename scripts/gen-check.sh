#!/usr/bin/env sh
# Regenerates the TypeScript of proto/ and fails when the committed copy in
# packages/proto/src/gen differs (CI drift check). Usage: scripts/gen-check.sh
set -eu
cd "$(dirname "$0")/.."

npm run --silent gen

gen=packages/proto/src/gen
changed=$(git status --porcelain --untracked-files=all -- "$gen")
if [ -n "$changed" ]; then
  echo "$changed" >&2
  git --no-pager diff --stat -- "$gen" >&2 || true
  echo "generated code is stale: run npm run gen (and commit $gen)" >&2
  exit 1
fi
echo "generated code is up to date"
