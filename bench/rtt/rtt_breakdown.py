#!/usr/bin/env python3
"""Where a busy round trip's CPU goes, from `perf record` of ipc_bench's liteipc transport.

    perf record -F 4999 -o before.data -- ipc_bench --sizes 64 --regimes busy --transports liteipc \
        --iters 200000 --stream 1000
    (the same for after.data with the other build)
    bench/rtt/rtt_breakdown.py before.data [after.data]

Takes the samples of the client's calling thread and the service's worker from the first round
trip to the first asynchronous call (the calls-in-flight rows come after the round trips), groups
them by function and prints ns of CPU per round trip: samples x sampling period / round trips
(--iters plus the 1,000 warm-up ones). Waiting rows include spinning while the peer is off its CPU.
"""
import collections
import re
import subprocess
import sys
def load(data):
    out = subprocess.run(['perf','script','-i',data,'-F','tid,time,ip,sym,dso'], capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r'\s*(\d+)\s+([\d.]+):\s+\S+\s+(.*)\s+\((.*)\)\s*$', line)
        if not m: continue
        sym = re.sub(r'\+0x[0-9a-f]+$', '', m.group(3).strip())
        rows.append((int(m.group(1)), float(m.group(2)), sym, m.group(4)))
    return rows
CLIENT = [
 ('waiting for the reply (spin on its call sequence; the reply fetch is inlined here)', r'ChannelClient::complete$'),
 ('clock reads (call deadline; spin budget while the peer is preempted)', r'clock_gettime|steady_clock::now'),
 ('ring push + doorbell check (CAS, cell line, fence)', r'ControlView::push|ring_doorbell'),
 ('descriptor build + publish (sequence, tid, deadline, flags)', r'ChannelClient::(publish|call|submit)$|__tls_get_addr'),
 ('memcpy: request into the slot, reply inline bytes out of it (misses on shared lines)', r'memmove|memcpy|memset'),
 ('slot claim + release', r'claim_slot|try_claim_slot|release_slot|free_slot|pthread_mutex|pthread_cond|mutex_unlock'),
 ('Reply: build, moves, release', r'detail::ReceivedReply::|payload_of|take_reply'),
 ('Connection layer (call_raw, finish_call, Reply::Impl alloc/free, alive check)', r'Connection::|Context::Impl::alive|malloc|free|operator new|operator delete|liteipc::Reply::|close_untaken|ChannelClient::dead'),
 ('bench: fill + check payload, timing, sort', r'bench::|_Function_handler|introsort|run_job|insertion_sort'),
]
SERVICE = [
 ('waiting for a request (worker polling its connections)', r'Dispatcher::worker_main|ControlView::has_pending$'),
 ('take + serve (pop, descriptor fetch and checks, reply publish, wake check)', r'ControlView::pop|ChannelServer::serve|payload_of|has_pending@plt'),
 ('clock reads (reply-space deadline; spin budget)', r'clock_gettime|steady_clock::now'),
 ('Service::dispatch: Call, Reader and Writer set-up, fds, counters', r'Service::Impl::dispatch|Call::|Reader::|Writer::|ReplyWriter|close_untaken|Service::start|__tls_get_addr|ServiceTraffic'),
 ('bench handler (check request, fill reply, its mutex)', r'bench::|pthread_mutex|mutex_unlock|_Function_handler'),
]
def analyze(data, rts=201000, hz=4999):
    rows = load(data)
    cnt = collections.Counter((r[0], r[2]) for r in rows)
    server = max((c, tid) for (tid, s), c in cnt.items() if 'Dispatcher::worker_main' in s)[1]
    client = max((c, tid) for (tid, s), c in cnt.items() if s.endswith('ChannelClient::complete') and tid != server)[1]
    start = min(t for tid, t, s, d in rows if tid == server)
    end = min(t for tid, t, s, d in rows if tid == client and re.search(r'call_async|PendingReply|in_flight|abandon_async', s))
    period = 1e9 / hz
    res = {}
    for name, tid, cats in (('client', client, CLIENT), ('service', server, SERVICE)):
        sel = [(s, d) for t2, t, s, d in rows if t2 == tid and start <= t < end]
        acc = collections.Counter(); other = collections.Counter()
        for s, d in sel:
            if 'kernel' in d: acc['kernel (preemption, interrupts)'] += 1; continue
            for label, rx in cats:
                if re.search(rx, s): acc[label] += 1; break
            else: other[s] += 1; acc['other'] += 1
        res[name] = ({k: v * period / rts for k, v in acc.items()}, other, len(sel), end - start)
    return res
def main():
    runs = [analyze(path) for path in sys.argv[1:3]]
    if not runs:
        sys.exit(__doc__)
    for side, cats in (('client', CLIENT), ('service', SERVICE)):
        print(f'== {side}, ns of CPU per round trip (' + ', '.join(sys.argv[1:3]) + ')')
        for label in [c[0] for c in cats] + ['kernel (preemption, interrupts)', 'other']:
            print(''.join(f'{run[side][0].get(label, 0):9.1f}' for run in runs) + f'   {label}')


if __name__ == '__main__':
    main()
