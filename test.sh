#!/usr/bin/env bash
# The project's test command (README.md). The end-to-end tests provision their tools on first
# use (tests/env/provision.sh, into target/e2e-env) and start the emulated cloud themselves.
set -euo pipefail
cd "$(dirname "$0")"
# Each end-to-end test runs the real aws CLI dozens of times (~0.5 s of CPU each): on a small
# machine, fewer tests at once keeps every command well inside its time limit.
export HP_TEST_CMD_TIMEOUT="${HP_TEST_CMD_TIMEOUT:-900}"
cargo test --all-targets --no-fail-fast "$@" -- --test-threads="${HP_TEST_THREADS:-4}"
