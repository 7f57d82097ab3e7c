#!/usr/bin/env bash
# Benchmarks reading Debian's bookworm main/binary-amd64 Packages.xz (63k stanzas) with distrobench, beside the
# real tools, and on the first 1/4, 1/2 and all of its stanzas (recompressed) to show how it grows.
# Run it alone on the machine: it builds in release (its own scratch dir, .build-release) and times things.
set -euo pipefail
cd "$(dirname "$0")/../.."

cache=${DISTROBENCH_CACHE:-/tmp/distrobench-cache}
url=http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages.xz
mkdir -p "$cache"
if [ ! -s "$cache/Packages.xz" ]; then
    echo "downloading $url"
    curl -fsSL --retry 3 -o "$cache/Packages.xz.part" "$url"
    mv "$cache/Packages.xz.part" "$cache/Packages.xz"
fi

swift build -c release --product distrobench --scratch-path .build-release 2>&1 | tail -1
bench=$(swift build -c release --product distrobench --scratch-path .build-release --show-bin-path)/distrobench

# Portions: the first N stanzas of the decompressed text, recompressed with xz -6 like the archive's.
xz -dc "$cache/Packages.xz" > "$cache/Packages"
total=$(grep -c '^Package:' "$cache/Packages")
for part in 4 2; do
    n=$((total / part))
    if [ ! -s "$cache/Packages.1of$part.xz" ]; then
        awk -v n="$n" 'BEGIN { RS = ""; ORS = "\n\n" } NR <= n' "$cache/Packages" | xz -6 -T1 -c > "$cache/Packages.1of$part.xz"
    fi
done

echo
echo "== machine"
lscpu | grep -E '^(Model name|CPU\(s\)):' | sed 's/  */ /g'
echo
echo "== real tools on the whole file ($total stanzas, $(stat -c %s "$cache/Packages.xz") bytes compressed, $(stat -c %s "$cache/Packages") decompressed)"
/usr/bin/time -f "xz -dc | grep -c '^Package:': %e s, peak RSS %M KiB" \
    sh -c "xz -dc '$cache/Packages.xz' | grep -c '^Package:'"
/usr/bin/time -f "xz -dc | wc -l: %e s, peak RSS %M KiB" sh -c "xz -dc '$cache/Packages.xz' | wc -l"
/usr/bin/time -f "xz -dc > /dev/null: %e s, peak RSS %M KiB" sh -c "xz -dc '$cache/Packages.xz' > /dev/null"

for file in Packages.1of4.xz Packages.1of2.xz Packages.xz; do
    echo
    echo "== distrobench $file (3 runs)"
    for _ in 1 2 3; do "$bench" "$cache/$file" | sed 1d; done
done
