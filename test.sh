#!/usr/bin/env bash
# The project's test command (README.md): provisions the emulated cloud's tools on first use
# (the tests call tests/env/provision.sh themselves), then runs every test.
set -euo pipefail
cd "$(dirname "$0")"
cargo test --all-targets "$@"
