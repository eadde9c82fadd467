#!/usr/bin/env bash
# Runs the whole test suite: dependencies, release build, then all tests
# (unit tests and the differential harness). Exit code = test result.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
cargo build --release --workspace
if cargo nextest --version >/dev/null 2>&1; then
	exec cargo nextest run --release --workspace --no-fail-fast "$@"
else
	echo "test.sh: cargo-nextest unavailable, using cargo test" >&2
	exec cargo test --release --workspace --no-fail-fast "$@"
fi
