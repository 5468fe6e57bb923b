#!/usr/bin/env bash
# Builds liteipc's Debian packages with dpkg-buildpackage from a copy of the source tree, so that
# the build (obj-*/, debian/tmp) and the .debs (written beside the tree) stay in OUT_DIR.
#
#   scripts/build-packages.sh [OUT_DIR]     (default: build/debs)
#
# Environment: JOBS (default: the number of cores); DEB_BUILD_OPTIONS (default "nocheck": the
# tests need root and BPF, scripts/test.sh runs them). ccache is used when installed.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$src/build/debs}
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
project_version=$(sed -nE 's/^project\(liteipc VERSION ([0-9.]+) .*/\1/p' "$src/CMakeLists.txt")
if [[ $version != "$project_version" ]]; then
    echo "build-packages: debian/changelog says $version, CMakeLists.txt $project_version: add a changelog entry (dch -v $project_version)" >&2
    exit 1
fi

# The source as git sees it (tracked and new files, not what .gitignore names), or all of it.
tree=$out/liteipc-$version
rm -rf "$tree" && mkdir -p "$tree"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$src" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -xf - -C "$tree"
else
    tar -C "$src" --exclude='./build*' --exclude=./.git -cf - . | tar -xf - -C "$tree"
fi

export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-nocheck}
[[ $DEB_BUILD_OPTIONS == *parallel=* ]] || DEB_BUILD_OPTIONS+=" parallel=${JOBS:-$(nproc)}"
if command -v ccache >/dev/null; then
    # debhelper gives the build a HOME of its own: name the cache, or every build misses it.
    export CCACHE_DIR=${CCACHE_DIR:-$(ccache -k cache_dir)} CCACHE_BASEDIR=$tree
    export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
fi
rm -f "$out"/*.deb "$out"/*.ddeb "$out"/*.buildinfo "$out"/*.changes
echo "build-packages: dpkg-buildpackage -b -us -uc in $tree (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS)"
(cd "$tree" && dpkg-buildpackage -b -us -uc)
rm -rf "$tree"
echo "build-packages: packages in $out:"
ls -1 "$out"/*.deb
