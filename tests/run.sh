#!/usr/bin/env bash
# The test command (README, "Run the tests"; .ci/run calls it). On a fresh Linux machine with the
# .NET 10 SDK it does all the set-up, then runs every suite:
#   1. Debian prerequisites when root and missing (python3, iproute2, tmux, dnsmasq-base, wine, wine64, systemd, prometheus,
#      chromium, nodejs/npm, openssh-server, openssh-client, nftables) and the npm package @ip-location-db/asn (out/tools/asn)
#      for the ASN database rebuild test
#   2. builds the solution in Release (the module lands in out/ConnectionsMonitor)
#   3. the xunit suite: dotnet test ConnectionsMonitor.sln -c Release
#   4. a real pwsh 7.6.9 (dotnet tool, into out/tools/pwsh) and Pester 5.9.1 (NuGet, into
#      out/tools/Modules/Pester/5.9.1), playwright-core (npm ci in tests/Dashboard, for the browser test),
#      then the Pester suite under that pwsh (./build.ps1 -Task Pester)
#   5. the Windows connection-table tests under Wine (.ci/wine-tests.sh)
# Last line: "N passed, N failed, N skipped" over all three suites. Exit status non-zero on any
# failure, on a Pester file that fails discovery, and on a suite that printed no result.
# Nothing goes onto global paths: pwsh and Pester live in the repository's out/ folder.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

pwsh_version=7.6.9
tools="$repo/out/tools"
passed=0 failed=0 skipped=0 status=0
logs="$repo/out/test-logs"
mkdir -p "$logs"
rm -f "$logs/failures.txt"

totals() { echo "$passed passed, $failed failed, $skipped skipped"; }
no_result() { echo "$1 printed no result line: counted as one failure"; failed=$((failed + 1)); status=1; }
# A suite that exits non-zero without a failed test counted (a crash, a hang, a set-up error)
# counts as one failure, so the totals line never reads "0 failed" for a failing run.
check_rc() { # name exit-status failures-before
  if [ "$2" -ne 0 ]; then
    status=1
    if [ "$failed" -eq "$3" ]; then echo "$1 exited with status $2 and no failed test counted: counted as one failure"; failed=$((failed + 1)); fi
  fi
}
add_line() { # adds "P passed, F failed, S skipped" (after an optional "name: " prefix)
  local p f s
  p=$(sed -nE 's/^[^0-9]*([0-9]+) passed.*/\1/p' <<<"$1")
  f=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$1")
  s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$1")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
}

echo "== prerequisites =="
missing=()
command -v python3 >/dev/null || missing+=(python3)   # a child process that listens
command -v ss >/dev/null || missing+=(iproute2)       # ip netns/link/route; ss for the benchmark
command -v tmux >/dev/null || missing+=(tmux)         # Show-ConnectionMonitor in a real terminal
command -v dnsmasq >/dev/null || missing+=(dnsmasq-base) # a real DNS server for reverse DNS tests
command -v wine >/dev/null || missing+=(wine wine64)  # the Windows table tests
[ -x /usr/bin/systemd-analyze ] || missing+=(systemd) # systemd-analyze verify of the service's unit
command -v promtool >/dev/null && command -v prometheus >/dev/null || missing+=(prometheus) # promtool check metrics and a real Prometheus scraping the metrics endpoint
[ -x /usr/bin/chromium ] || missing+=(chromium)        # the dashboard in a real browser (driven by playwright-core)
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm) # playwright-core for the browser test
{ command -v sshd >/dev/null || [ -x /usr/sbin/sshd ]; } || missing+=(openssh-server) # PowerShell remoting over SSH to a private sshd on 127.0.0.1
command -v ssh >/dev/null || missing+=(openssh-client)  # the SSH client pwsh's remoting runs
command -v nft >/dev/null || missing+=(nftables)      # Block-ConnectionRemote's tests, inside network namespaces they make
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
      echo "apt-get could not install ${missing[*]}: the tests that need them will fail"
    fi
  else
    echo "missing ${missing[*]} and not root: install them (apt-get install ${missing[*]}); the tests that need them will fail"
  fi
else
  echo "all present"
fi

# The npm package the bundled ASN database was built from (data/GeoIP/SOURCES.md), so the test that
# rebuilds it byte for byte runs instead of skipping; npm checks the tarball against the registry's
# integrity hash. Without npm or the registry that one test skips and says why.
asn_version=2.3.2026061719
asn_dir="$tools/asn"
if [ -z "${CM_ASN_PACKAGE:-}" ]; then
  if ! [ -f "$asn_dir/package/asn-ipv4.csv" ] && command -v npm >/dev/null; then
    echo "fetching @ip-location-db/asn@$asn_version (npm pack) for the ASN database rebuild test"
    mkdir -p "$asn_dir"
    if (cd "$asn_dir" && npm pack --silent "@ip-location-db/asn@$asn_version" >/dev/null 2>"$logs/npm-asn.log" \
        && tar xzf "ip-location-db-asn-$asn_version.tgz" && rm -f "ip-location-db-asn-$asn_version.tgz"); then :; else
      echo "could not fetch the ASN package (log: $logs/npm-asn.log): the rebuild test will skip"
    fi
  fi
  [ -f "$asn_dir/package/asn-ipv4.csv" ] && export CM_ASN_PACKAGE="$asn_dir/package"
fi

echo "== build (Release) =="
dotnet build ConnectionsMonitor.sln -c Release --nologo >"$logs/build.log" 2>&1
rc=$?
grep -E 'Warning\(s\)|Error\(s\)|Time Elapsed' "$logs/build.log"
if [ "$rc" -ne 0 ] || ! [ -f out/ConnectionsMonitor/ConnectionsMonitor.psd1 ]; then
  grep -E ': error ' "$logs/build.log" | sort -u | head -n 50
  echo "the build failed (full log: $logs/build.log)"
  failed=$((failed + 1)); totals; exit 1
fi

echo "== xunit: dotnet test ConnectionsMonitor.sln -c Release =="
rm -f "$logs/xunit.trx" "$logs/xunit-outcomes.txt"
before=$failed
dotnet test ConnectionsMonitor.sln -c Release --no-build --logger "trx;LogFileName=xunit.trx" --results-directory "$logs" 2>&1 | tee "$logs/xunit.log"
rc=${PIPESTATUS[0]}
# Each skipped test with its reason (the console logger names them without one).
if [ -f "$logs/xunit.trx" ]; then
  python3 - "$logs/xunit.trx" <<'PY' | tee "$logs/xunit-outcomes.txt" || true
import sys, xml.etree.ElementTree as ET
ns = {'t': 'http://microsoft.com/schemas/VisualStudio/TeamTest/2010'}
for r in ET.parse(sys.argv[1]).getroot().iterfind('.//t:UnitTestResult', ns):
    if r.get('outcome') == 'NotExecuted':
        m = r.find('.//t:Message', ns)
        print('xunit skipped: %s -- %s' % (r.get('testName'), (m.text or '').strip() if m is not None else 'no reason given'))
    elif r.get('outcome') == 'Failed':
        m = r.find('.//t:Message', ns)
        first = next((l.strip() for l in ((m.text or '') if m is not None else '').splitlines() if l.strip()), 'no message')
        print('xunit failed: %s -- %s' % (r.get('testName'), first))
PY
fi
xunit_lines=$(grep -E '^(Passed|Failed)! +- ' "$logs/xunit.log" || true)
if [ -z "$xunit_lines" ]; then no_result "dotnet test"; fi
while IFS= read -r line; do
  [ -n "$line" ] || continue
  # "Failed!  - Failed: 1, Passed: 2, Skipped: 3, Total: 6, ..."
  f=$(sed -nE 's/.*Failed: *([0-9]+),.*/\1/p' <<<"$line")
  p=$(sed -nE 's/.*Passed: *([0-9]+),.*/\1/p' <<<"$line")
  s=$(sed -nE 's/.*Skipped: *([0-9]+),.*/\1/p' <<<"$line")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
done <<<"$xunit_lines"
check_rc "dotnet test" "$rc" "$before"
xunit_summary="xunit: $passed passed, $failed failed, $skipped skipped"
echo "$xunit_summary"

echo "== pwsh $pwsh_version and Pester 5.9.1 in out/tools =="
pwsh="$tools/pwsh/pwsh"
if [ -x "$pwsh" ] && dotnet tool list --tool-path "$tools/pwsh" 2>/dev/null | grep -qiE "^powershell +$pwsh_version( |$)"; then
  echo "pwsh $pwsh_version already in $tools/pwsh"
else
  rm -rf "$tools/pwsh"
  dotnet tool install --tool-path "$tools/pwsh" PowerShell --version "$pwsh_version" || echo "pwsh $pwsh_version could not be installed"
fi

# playwright-core for the dashboard's browser test, from tests/Dashboard's lock file (npm checks the registry's hash).
echo "== playwright-core (npm ci in tests/Dashboard) =="
if command -v npm >/dev/null; then
  if (cd tests/Dashboard && npm ci --no-audit --no-fund --silent >"$logs/npm-dashboard.log" 2>&1); then
    echo "playwright-core $(sed -nE 's/.*"version": *"([^"]+)".*/\1/p' tests/Dashboard/node_modules/playwright-core/package.json | head -n1)"
  else
    echo "npm ci in tests/Dashboard failed (log: $logs/npm-dashboard.log): the browser test will fail"
  fi
else
  echo "no npm: the browser test will fail"
fi

echo "== Pester: ./build.ps1 -Task Pester under pwsh $pwsh_version =="
before=$failed
if [ -x "$pwsh" ]; then
  # This pwsh first on PATH: tests that start "a PowerShell" as a child process find this one.
  PATH="$tools/pwsh:$PATH" "$pwsh" -NoProfile -NonInteractive -File build.ps1 -Task Pester 2>&1 | tee "$logs/pester.log"
  rc=${PIPESTATUS[0]}
else
  echo "no pwsh: the Pester suite cannot run"; rc=1
  : >"$logs/pester.log"
fi
pester_summary=$(grep -aE '^pester: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$logs/pester.log" | tail -n1)
if [ -n "$pester_summary" ]; then add_line "$pester_summary"; else no_result "the Pester suite"; fi
check_rc "the Pester suite" "$rc" "$before"

echo "== Windows connection-table tests under Wine =="
before=$failed
bash .ci/wine-tests.sh 2>&1 | tee "$logs/wine.log"
rc=${PIPESTATUS[0]}
wine_summary=$(grep -aE '^wine: [0-9]+ passed, [0-9]+ failed' "$logs/wine.log" | tail -n1)
if [ -n "$wine_summary" ]; then add_line "$wine_summary"; else no_result "the Wine tests"; fi
check_rc "the Wine tests" "$rc" "$before"

# The failed tests by name, one line each (cut to 300 characters), in out/test-logs/failures.txt and
# here before the totals: a CI log that keeps only its end still says what failed.
{
  grep -aE '^xunit failed: ' "$logs/xunit-outcomes.txt" 2>/dev/null || true
  grep -aE '^Failed: ' "$logs/pester.log" | sed 's/^/pester /' || true
  grep -aE '\[FAIL\]' "$logs/wine.log" | sed -E 's/^ +//; s/^/wine failed: /' || true
} | cut -c1-300 >"$logs/failures.txt"

echo "== totals =="
if [ -s "$logs/failures.txt" ]; then head -n 40 "$logs/failures.txt"; fi
echo "$xunit_summary"
echo "${pester_summary:-pester: no result}"
echo "${wine_summary:-wine: no result}"
[ "$failed" -eq 0 ] || status=1
totals
exit $status
