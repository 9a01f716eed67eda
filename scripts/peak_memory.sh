#!/usr/bin/env bash
# Peak private memory of one pg_unlearn operation, for checking the README's
# memory formula ("Interrupts and memory") against reality.
#   scripts/peak_memory.sh "SETUP SQL" "OPERATION SQL"
# Runs both in one backend (PGHOST etc. from the environment; reading
# /proc/<pid>/status needs the server's user or root) and prints the growth of
# the backend's RssAnon while OPERATION runs, sampled every 10 ms. RssAnon
# leaves out shared buffers, which VmHWM would count.
set -euo pipefail
setup=$1
op=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkfifo "$work/in"
exec 3<>"$work/in"
psql -X -q <&3 >"$work/out" 2>&1 &
client=$!
{
    echo "\\o $work/pid"
    echo "SELECT 'PID=' || pg_backend_pid();"
    echo "$setup"
    echo "\\o $work/ready"
    echo "SELECT 1;"
    echo "\\o"
} >&3
until [ -s "$work/ready" ]; do sleep 0.1; done
pid=$(grep -o 'PID=[0-9]*' "$work/pid" | cut -d= -f2)
base=$(awk '/RssAnon/{print $2}' "/proc/$pid/status")
{
    echo "\\timing on"
    echo "$op"
    echo "\\o $work/done"
    echo "SELECT 1;"
    echo "\\o"
} >&3
peak=$base
until [ -s "$work/done" ]; do
    v=$(awk '/RssAnon/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
    if [ -n "$v" ] && [ "$v" -gt "$peak" ]; then peak=$v; fi
    sleep 0.01
done
echo "\\q" >&3
wait $client
exec 3>&-
echo "RssAnon before ${base} kB, peak ${peak} kB: the operation used $(((peak - base) / 1024)) MB"
grep -E "ERROR|HINT|Time" "$work/out" | tail -3 || true
