#!/usr/bin/env bash
# Installs the PyTorch peer for `npm run bench:peer` on Debian/Ubuntu, idempotently:
#   1. apt packages python3-torch (Debian's PyTorch 1.13) and libopenblas0-openmp;
#   2. points the three BLAS alternatives (libblas.so.3, liblapack.so.3, libopenblas.so.0)
#      at the openblas-openmp variant. Without an optimised BLAS Debian's torch runs on the
#      reference BLAS (~40x slower); with openblas-pthread installed beside openblas-openmp the
#      alternatives can mix the two (~4x slower). torch already uses OpenMP (libgomp), so the
#      openmp variant is the one that shares its thread pool;
#   3. verifies in a fresh /usr/bin/python3 which BLAS torch actually maps.
# Re-running does nothing that is already done. Needs root (or sudo) for steps 1-2.
# Usage: bench/peers/setup-torch.sh [--check-only]
set -euo pipefail

CHECK_ONLY=0
case "${1:-}" in
  --check-only) CHECK_ONLY=1 ;;
  "") ;;
  *) echo "usage: $0 [--check-only]" >&2; exit 2 ;;
esac

SUDO=""
if [ "$(id -u)" -ne 0 ] && [ "$CHECK_ONLY" -eq 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup-torch: needs root (or sudo) to install packages" >&2; exit 1
  fi
fi

MA="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
PKGS=(python3-torch libopenblas0-openmp)
LIBS=(libblas.so.3 liblapack.so.3 libopenblas.so.0)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

if [ "$CHECK_ONLY" -eq 0 ]; then
  missing=()
  for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup-torch: installing ${missing[*]}"
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${PKGS[@]}"
  else
    echo "setup-torch: ${PKGS[*]} already installed"
  fi

  for lib in "${LIBS[@]}"; do
    name="$lib-$MA"
    want="/usr/lib/$MA/openblas-openmp/$lib"
    [ -e "$want" ] || { echo "setup-torch: $want missing (is libopenblas0-openmp installed?)" >&2; exit 1; }
    q="$(update-alternatives --query "$name" 2>/dev/null || true)"
    cur="$(printf '%s\n' "$q" | sed -n 's/^Value: //p')"
    mode="$(printf '%s\n' "$q" | sed -n 's/^Status: //p')"
    # --set also pins manual mode, so a later libopenblas0-pthread install (higher priority)
    # cannot silently take over the link.
    if [ "$cur" != "$want" ] || [ "$mode" != "manual" ]; then
      echo "setup-torch: $name: '${cur:-none}' ($mode) -> $want (manual)"
      $SUDO update-alternatives --set "$name" "$want"
    else
      echo "setup-torch: $name already -> $want"
    fi
  done
fi

# Verify: what a fresh torch process maps after one sgemm (OPENBLAS_* tuning unset, as the bench runs it).
echo "setup-torch: checking the BLAS torch loads"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 - <<'EOF'
import re, sys
import torch
torch.mm(torch.ones(64, 64), torch.ones(64, 64))
libs = sorted({l.split()[-1] for l in open("/proc/self/maps")
               if len(l.split()) >= 6 and re.search(r"blas|lapack|mkl", l.split()[-1])})
print("torch", torch.__version__)
for p in libs:
    print("  mapped:", p)
bad = [p for p in libs if "openblas-openmp" not in p]
if not libs or bad:
    print("setup-torch: FAIL: expected only openblas-openmp BLAS/LAPACK libraries, got",
          bad or "none", file=sys.stderr)
    sys.exit(1)
print("setup-torch: OK: torch uses openblas-openmp")
EOF
