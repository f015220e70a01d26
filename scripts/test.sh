#!/usr/bin/env bash
# `make test`: installs what the tests need, then runs ruff, the import-linter contracts and the
# whole pytest suite twice: on SQLite (DATABASE_URL unset) and on PostgreSQL (DATABASE_URL when
# given, otherwise a throwaway cluster from scripts/with-postgres.sh). Every step runs even when
# an earlier one failed, so one run shows everything; the exit status is non-zero if any failed.
# Arguments are passed to both pytest runs:  scripts/test.sh -k customers -x
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

# A hung test must not eat CI's whole budget: faulthandler dumps every thread's stack after
# this long in one test, and the run is killed after the cap.
TEST_STACK_DUMP_SECONDS=300
PYTEST_RUN_CAP_SECONDS=1800

suite_started=$(date +%s%N)
bash scripts/system-deps.sh postgresql chromium gettext || die "could not install the Debian packages the tests need"
bash scripts/venv.sh test || die "could not install the project with its test extras into .venv"

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/siyu-test.XXXXXX")"
trap 'rm -rf "$work_dir"' EXIT

summary=()
failures=()
total_passed=0
total_failed=0
total_skipped=0

seconds_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1fs", (b - a) / 1e9 }'; }

run_check() {
    local name="$1"
    shift
    say "$name"
    local started
    started=$(date +%s%N)
    if "$@"; then
        summary+=("$(printf '%-18s ok (%s)' "$name" "$(seconds_since "$started")")")
    else
        summary+=("$(printf '%-18s FAILED (%s)' "$name" "$(seconds_since "$started")")")
        failures+=("$name")
    fi
}

# Prints "passed failed skipped" from a JUnit XML report (failed includes errors).
junit_counts() {
    .venv/bin/python - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
total = failed = skipped = 0
for suite in suites:
    total += int(suite.get("tests", 0))
    failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped += int(suite.get("skipped", 0))
print(total - failed - skipped, failed, skipped)
PY
}

# run_pytest LABEL [WRAPPER...] -- runs pytest (with this script's arguments) under WRAPPER.
run_pytest() {
    local label="$1"
    shift
    local junit="$work_dir/$label.xml"
    local var_dir="$work_dir/var-$label"
    # STATIC_ROOT lives under the var dir; whitenoise warns on every request when it is missing.
    mkdir -p "$var_dir/static"
    say "pytest on $label"
    local started status
    started=$(date +%s%N)
    # Without a terminal (CI) timeout kills pytest's whole process group, workers included;
    # at a terminal it must stay in the foreground group so that Ctrl+C reaches pytest.
    local timeout_mode=()
    [ -t 0 ] && timeout_mode=(--foreground)
    "$@" env SIYU_VAR_DIR="$var_dir" \
        timeout "${timeout_mode[@]}" -k 30 "$PYTEST_RUN_CAP_SECONDS" \
        .venv/bin/pytest -q -p no:cacheprovider --junitxml="$junit" \
        -o faulthandler_timeout="$TEST_STACK_DUMP_SECONDS" --durations=5 "${pytest_args[@]}"
    status=$?
    local elapsed passed=0 failed=0 skipped=0 note=""
    elapsed="$(seconds_since "$started")"
    if [ -s "$junit" ]; then
        read -r passed failed skipped < <(junit_counts "$junit")
    fi
    case "$status" in
        0) note="ok" ;;
        5) note="FAILED: no tests ran" ;;
        124|137) note="FAILED: killed after ${PYTEST_RUN_CAP_SECONDS}s" ;;
        *) note="FAILED (pytest exit $status)" ;;
    esac
    [ "$status" -eq 0 ] || failures+=("pytest $label")
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    total_skipped=$((total_skipped + skipped))
    summary+=("$(printf '%-18s %s passed, %s failed, %s skipped in %s: %s' \
        "pytest $label" "$passed" "$failed" "$skipped" "$elapsed" "$note")")
}

pytest_args=("$@")

run_check "ruff" .venv/bin/ruff check .
run_check "lint-imports" .venv/bin/lint-imports --no-cache

run_pytest sqlite env -u DATABASE_URL
if [ -n "${DATABASE_URL:-}" ]; then
    run_pytest postgresql env
else
    run_pytest postgresql bash scripts/with-postgres.sh
fi

printf '\n==> summary (%s in all)\n' "$(seconds_since "$suite_started")"
printf '  %s\n' "${summary[@]}"
if [ ${#failures[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "$(IFS=,; echo "${failures[*]}" | sed 's/,/, /g')"
else
    printf 'all checks passed\n'
fi
if [ "$total_skipped" -gt 0 ]; then
    printf 'tests: %s passed, %s failed, %s skipped\n' "$total_passed" "$total_failed" "$total_skipped"
else
    printf 'tests: %s passed, %s failed\n' "$total_passed" "$total_failed"
fi
[ ${#failures[@]} -eq 0 ]
