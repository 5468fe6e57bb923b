#!/usr/bin/env python3
"""Instructions and malloc calls per busy liteipc round trip, client and service, by callgrind.

    bench/rtt/call_instructions.py build/bench/rtt/ipc_bench [--size 128]

Load-independent where wall-clock time is not (this VM has no hardware counters for `perf stat`).
Runs ipc_bench's liteipc transport under callgrind four times: 3,000 and 8,000 round trips, once
collecting only the client's round trip (the benchmark's LiteipcTransport::call) and once the whole
service; the difference of the two counts is per round trip, so set-up cancels. The client is
counted less its reply wait (ChannelClient::complete's own instructions, where the spin is inlined,
the clock reads and the futex), whose length depends on the load; the service is
ChannelServer::serve, inclusive (it never waits). The default size is 128 B: the 64 B job also runs
the calls-in-flight phase, whose calls the service cannot tell from the round trips.
"""
import argparse
import collections
import glob
import os
import re
import subprocess
import tempfile

ROUND_TRIPS = (3000, 8000)


def parse(path):
    """Self and inclusive Ir and call counts per function of one callgrind out file."""
    names, self_cost, callee_cost, calls = {}, collections.Counter(), collections.Counter(), collections.Counter()
    function = callee = pending = None

    def name(rest):
        m = re.match(r'\((\d+)\)(?:\s+(.*))?', rest)
        if not m: return rest
        if m.group(2): names[m.group(1)] = m.group(2)
        return names.get(m.group(1), rest)

    for line in open(path):
        if line.startswith('fn='): function = name(line[3:].strip())
        elif line.startswith('cfn='): callee = name(line[4:].strip())
        elif line.startswith('calls='): pending = (int(line[6:].split()[0]), callee)
        elif line[:1].isdigit() or line[:1] in '+-*':
            parts = line.split()
            cost = int(parts[-1]) if len(parts) > 1 else 0
            if pending:
                count, target = pending
                if target != function: callee_cost[function] += cost
                calls[target] += count
                pending = None
            else:
                self_cost[function] += cost
    inclusive = {f: self_cost[f] + callee_cost[f] for f in set(self_cost) | set(callee_cost)}
    return inclusive, self_cost, calls


def first(functions, pattern):
    return next((f for f in functions if re.search(pattern, f)), None)


def measure(bench, size, round_trips, side, work):
    prefix = os.path.join(work, f'{side}-{round_trips}')
    toggle = ['--toggle-collect=*LiteipcTransport::call(*'] if side == 'client' else []
    subprocess.run(['valgrind', '--tool=callgrind', '--trace-children=yes',
                    '--trace-children-skip=*liteipc-loader*,*iox*', *toggle, f'--callgrind-out-file={prefix}.%p',
                    bench, '--sizes', str(size), '--regimes', 'busy', '--transports', 'liteipc',
                    '--iters', str(round_trips), '--min-iters', str(round_trips), '--stream', '100',
                    '--timeout', '250', '--csv', os.path.join(work, 'results.csv')],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    anchor = r'LiteipcTransport::call\(' if side == 'client' else r'ChannelServer::serve\('
    for path in glob.glob(prefix + '.*'):
        inclusive, self_cost, calls = parse(path)
        f = first(inclusive, anchor)
        if not f or inclusive[f] == 0: continue  # another process of the run
        waiting = 0
        if side == 'client':
            waiting = self_cost.get(first(self_cost, r'ChannelClient::complete\('), 0)
            waiting += sum(c for g, c in self_cost.items()
                           if g.startswith('clock_gettime') or 'steady_clock::now' in g or g == 'syscall')
        return inclusive[f] - waiting, calls[f], calls.get(first(calls, r'^malloc$'), 0)
    raise SystemExit(f'no {side} round trips in the callgrind output of {prefix}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('ipc_bench')
    parser.add_argument('--size', type=int, default=128)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='liteipc-call-instructions.') as work:
        for side in ('client', 'service'):
            (few, few_calls, few_mallocs), (many, many_calls, many_mallocs) = (
                measure(args.ipc_bench, args.size, n, side, work) for n in ROUND_TRIPS)
            n = many_calls - few_calls
            print(f'{side:8} {(many - few) / n:7.0f} instructions, {(many_mallocs - few_mallocs) / n:5.2f} malloc calls '
                  f'per busy {args.size} B round trip ({n} round trips apart)')


if __name__ == '__main__':
    main()
