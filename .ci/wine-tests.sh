#!/usr/bin/env bash
# Runs the Windows-facing tests (tests/Windows) under Wine on a Linux machine: publishes them as a
# self-contained win-x64 xunit.v3 executable and runs it in a dedicated Wine prefix.
# Last line of output: "wine: N passed, N failed, N skipped". Exit status non-zero on any failure,
# on a crash, or on a hang (WINE_TEST_TIMEOUT seconds, default 300).
#
# Environment: CONNECTIONSMONITOR_WINEPREFIX overrides the prefix (default ~/.cache/connectionsmonitor/wine).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$repo/tests/Windows/ConnectionsMonitor.WindowsTests.csproj"
work="$repo/tests/Windows/obj/wine"
publish="$work/publish"
log="$work/wine-output.log"
results="$publish/wine-results.xml"

if ! command -v wine >/dev/null 2>&1; then
    echo "wine not found; installing it (apt-get install wine wine64)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq wine wine64 >/dev/null
fi

mkdir -p "$work"
rm -rf "$publish"
if ! dotnet publish "$project" -r win-x64 --self-contained -c Release -o "$publish" -nologo >"$work/publish.log" 2>&1; then
    cat "$work/publish.log"
    echo "wine: 0 passed, 0 failed, 0 skipped"
    exit 1
fi

export WINEPREFIX="${CONNECTIONSMONITOR_WINEPREFIX:-$HOME/.cache/connectionsmonitor/wine}"
mkdir -p "$(dirname "$WINEPREFIX")"
# No X, no 32-bit wine: silence the noise. Without winedbg an unhandled exception makes wine exit
# non-zero instead of starting the debugger and exiting 0.
export WINEDEBUG=-all
export WINEDLLOVERRIDES=winedbg.exe=d
# No W^X double mapping of JIT code under Wine: with it, the runtime crashed in freeing emitted methods ("Internal CLR
# error (0x80131506)" in DynamicResolver+DestroyScout.Finalize; the invoke stubs that ForceEmitInvoke asks for) in 2 runs
# of 4 here, twice in a row in one CI run; without it, none in 5. It only hardens JIT memory; nothing tested depends on it.
export DOTNET_EnableWriteXorExecute=0
# Lets the tests prove their Wine detection works (the Wine-only skips depend on it).
export CONNECTIONSMONITOR_EXPECT_WINE=1

# Wine's IP Helper reads /proc/net/* and finds each socket's process by scanning /proc/*/fd, so with
# many sockets on the machine (another run's 10,000-connection benchmark, measured) one table read
# takes minutes and the run times out. The tests look only at their own sockets: as root they run in
# a network namespace of their own (loopback only), elsewhere in the machine's.
runner=()
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 \
    && unshare --net true 2>/dev/null; then
    runner=(unshare --net sh -c 'ip link set lo up && exec "$@"' sh)
fi

# Output goes to a file, never a pipe: Wine's background services inherit and hold a pipe open,
# which costs ~3 s per run.
run_tests() {
    status=0
    rm -f "$results"
    (cd "$publish" && timeout --kill-after=10 "${WINE_TEST_TIMEOUT:-300}" \
        "${runner[@]}" wine ConnectionsMonitor.WindowsTests.exe -xml wine-results.xml -noColor >"$log" 2>&1) || status=$?
    cat "$log"
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        echo "wine test run timed out after ${WINE_TEST_TIMEOUT:-300} s"
        # The Windows process can outlive the killed loader; end everything in this (dedicated) prefix.
        wineserver -k || true
    fi
}
run_tests
# The runtime itself has crashed under Wine once in many runs ("Internal CLR error (0x80131506)" in a finalizer of
# Reflection.Emit's dynamic methods, with no test of ours on the stack): a run that crashed without results, not one that
# timed out or had a test fail, runs once more, and says so. A second crash fails the run.
if [ ! -s "$results" ] && [ "$status" -ne 124 ] && [ "$status" -ne 137 ] && grep -q "Internal CLR error" "$log"; then
    echo "the Wine run crashed in the runtime (exit status $status) before writing results; running it once more"
    wineserver -k || true
    run_tests
fi

attr() { # value of attribute $1 on the xunit <assembly> element, 0 when absent
    local v
    v="$(grep -o '<assembly [^>]*>' "$results" 2>/dev/null | head -n1 | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]\+' || true)"
    echo "${v:-0}"
}

if [ ! -s "$results" ]; then
    echo "wine test run produced no results (exit status $status): it crashed or hung"
    echo "wine: 0 passed, 0 failed, 0 skipped"
    exit 1
fi

passed="$(attr passed)"
# "errors" are failures outside a test (fixture or class set-up); they count as failed.
failed=$(( $(attr failed) + $(attr errors) ))
skipped="$(attr skipped)"
echo "wine: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
    exit 1
fi
