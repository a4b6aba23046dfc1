#!/bin/sh
# Find the ARM NN TFLite delegate in an unpacked ArmNN-linux-aarch64 release and link it as DIR/libarmnnDelegate.so.
# Releases differ: libarmnnDelegate.so, libarmnnDelegate.so.NN (no unversioned name), or a delegate/ folder.
# The shortest matching path wins (the unversioned name, at the top level, when present). The dynamic loader is told
# where it was found (its folder and DIR, where the release keeps libarmnn.so.NN) through LDCONF (default
# /etc/ld.so.conf.d/armnn.conf, then ldconfig), not a fixed LD_LIBRARY_PATH. Usage: find-delegate.sh DIR [LDCONF]
set -eu
dir="$1"
ldconf="${2:-/etc/ld.so.conf.d/armnn.conf}"
lib="$(find "${dir}" -name 'libarmnnDelegate.so*' \( -type f -o -type l \) | awk '{ print length($0), $0 }' | sort -n | head -n 1 | cut -d' ' -f2-)"
if [ -z "${lib}" ]; then
  echo "error: no libarmnnDelegate.so* in the ARM NN release archive; it holds:" >&2
  find "${dir}" -maxdepth 2 >&2
  exit 1
fi
if [ "${lib}" != "${dir}/libarmnnDelegate.so" ]; then
  ln -s "${lib}" "${dir}/libarmnnDelegate.so"
fi
libdir="$(dirname "${lib}")"
{ echo "${libdir}"; [ "${libdir}" = "${dir}" ] || echo "${dir}"; } > "${ldconf}"
if [ -z "${2:-}" ]; then ldconfig; fi
echo "ARM NN delegate: ${lib} (loader path: $(tr '\n' ' ' < "${ldconf}"))"
