#!/bin/sh
# Runs every target (no sanitizer: core forbids unsafe code; debug
# assertions and overflow checks on), one at a time, for 10 million executions or SECS
# seconds (default 540), whichever comes first; logs in fuzz/logs/.
# Usage (from fuzz/): ./run-all.sh [SECS] [target...]
set -u
secs=${1:-540}
[ $# -gt 0 ] && shift
targets=${*:-"snapshot_open seal_open profile_parse response_map journal_replay store_ops"}
mkdir -p logs
for t in $targets; do
  # store_ops is a structured fuzzer whose time went to compare tracing in
  # miniz and the index codec (two thirds of its profile): without it, 3x the
  # executions. Its own target dir keeps the other targets' build.
  extra=""
  [ "$t" = store_ops ] && extra="--no-trace-compares --target-dir target/fast"
  # shellcheck disable=SC2086
  cargo +nightly fuzz run "$t" -s none -a $extra -- -runs=10000000 -max_total_time="$secs" \
    -print_final_stats=1 -rss_limit_mb=1024 >"logs/$t.log" 2>&1
  echo "$t: exit $? $(grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec' "logs/$t.log" | tr '\n' ' ')"
done
