#!/usr/bin/env bash
# Records new public symbols of a shipped project in its PublicAPI.Unshipped.txt (from the analyzer's RS0016 messages).
# Usage: build/update-public-api.sh src/EventStream.Core
set -euo pipefail
project_dir="$1"
file="$project_dir/PublicAPI.Unshipped.txt"
symbols=$(dotnet build "$project_dir" --no-incremental 2>&1 | grep 'error RS0016' | sed -E "s/.*Symbol '(.*)' is not part of the declared public API.*/\1/" | sort -u || true)
if [ -z "$symbols" ]; then echo "public API up to date"; exit 0; fi
{ tail -n +2 "$file"; echo "$symbols"; } | grep -v '^$' | sort -u > "$file.tmp"
{ echo '#nullable enable'; cat "$file.tmp"; } > "$file"; rm "$file.tmp"
echo "added $(echo "$symbols" | wc -l) symbol(s) to $file"
