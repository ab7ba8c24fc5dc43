#!/usr/bin/env bash
# The fidelity report for a human: runs the kubectl scenario against the sandbox and against the
# real control plane (the test in tests/fidelity.rs), then shows the whole normalised diff,
# explained differences included (tests/fidelity/DIFFERENCES.md says why each line stays).
#
#   tests/fidelity/diff.sh            # transcripts in $CARGO_TARGET_DIR/fidelity (target/fidelity)
#
# Needs the real control plane built once: tests/real/build.sh. The raw transcripts (as kubectl
# printed them) are next to the normalised ones: sandbox.raw.txt, real.raw.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."

out="${SHIPDECK_FIDELITY_OUT:-${CARGO_TARGET_DIR:-target}/fidelity}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
rm -f "$out"/sandbox.txt "$out"/real.txt "$out"/sandbox.raw.txt "$out"/real.raw.txt

# The test fails when a difference is not explained; the transcripts are written either way.
test_status=0
SHIPDECK_FIDELITY_OUT="$out" cargo test --locked --test suite \
  fidelity::the_sandbox_answers_kubectl_like_the_real_api_server -- --exact --nocapture \
  || test_status=$?

if [ ! -f "$out/sandbox.txt" ] || [ ! -f "$out/real.txt" ]; then
  echo "fidelity: no transcripts in $out (skipped without tests/real/build.sh, or the run failed)" >&2
  exit 1
fi
echo
echo "fidelity: diff -u $out/sandbox.txt $out/real.txt"
if diff -u "$out/sandbox.txt" "$out/real.txt"; then
  echo "fidelity: no differences"
fi
if [ "$test_status" -ne 0 ]; then
  echo "fidelity: the test failed: some difference above is not explained in tests/fidelity/DIFFERENCES.md" >&2
fi
exit "$test_status"
