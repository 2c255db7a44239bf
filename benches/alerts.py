#!/usr/bin/env python3
"""Alert delivery under load, driven against a running `agrimap serve` (benches/alerts.sh).

  alerts.py deliveries BASE EDITOR_TOKEN STATION:TOKEN SECONDS SUBSCRIPTIONS SLOW_MS
      Starts two webhook receivers on loopback, one answering at once and one
      taking SLOW_MS per call; makes SUBSCRIPTIONS subscriptions hearing every
      change (one to the slow receiver, the rest to the quick one); then for
      SECONDS posts alternately an alarm and a normal salinity reading of the
      station every 0.5 s, and times each alarm from the moment its POST is
      answered (the reading is committed) to its arrival at the quick receiver.
      Prints the deliveries each receiver got and the latency percentiles.

  alerts.py sse BASE PID CLIENTS STATION:TOKEN
      Opens CLIENTS connections to /api/alerts/stream (from 127.0.0.x source
      addresses), prints the server's resident memory (VmRSS of PID) with them
      all open, posts one alarm and counts the clients that receive it.
"""

import asyncio
import http.server
import json
import sys
import threading
import time
import urllib.request


def request(method, url, token=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def receiver(delay_s, arrivals):
    """A webhook receiver on a free loopback port; records (arrival time, body)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        # Keep-alive, as a gateway would.
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            arrivals.append((time.monotonic(), json.loads(body)))
            if delay_s:
                time.sleep(delay_s)
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d/hook" % server.server_address[1]


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def deliveries(base, editor, station_pair, seconds, subscriptions, slow_ms):
    quick, slow = [], []
    quick_url = receiver(0, quick)
    slow_url = receiver(slow_ms / 1000, slow)
    for i in range(subscriptions):
        url = slow_url if i == 0 else quick_url
        request("POST", base + "/api/subscriptions", editor,
                {"name": "bench %d" % i, "url": url, "states": ["ok", "watch", "alarm", "silent"]})
    station, token = station_pair.split(":", 1)
    sent = {}  # reading time -> monotonic time the POST was answered
    end = time.monotonic() + seconds
    t = int(time.time()) - 3600
    alarm = True
    while time.monotonic() < end:
        t += 1
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        value = 9.0 if alarm else 0.5
        answer = request("POST", "%s/api/stations/%s/readings" % (base, station), token,
                         [{"parameter": "salinity", "value": value, "unit": "ppt", "time": stamp}])
        if alarm and answer.get("alert_state") == "alarm":
            sent[stamp] = time.monotonic()
        alarm = not alarm
        time.sleep(0.5)
    time.sleep(3)
    latencies = []
    for arrived, body in list(quick):
        event = body.get("event", {})
        cause = event.get("cause") or {}
        if event.get("station_id") == station and event.get("to") == "alarm" and cause.get("time") in sent:
            latencies.append((arrived - sent[cause["time"]]) * 1000)
    # Each alarm reaches every quick subscription: the first arrival of each is the one timed.
    firsts = {}
    for arrived, body in list(quick):
        cause = (body.get("event") or {}).get("cause") or {}
        if cause.get("time") in sent:
            firsts.setdefault(cause["time"], arrived)
    first_ms = [(firsts[k] - sent[k]) * 1000 for k in firsts]
    print("deliveries: %d alarms timed; quick receiver got %d deliveries, slow receiver %d"
          % (len(sent), len(quick), len(slow)))
    print("alarm -> quick receiver, every subscription's delivery (ms): p50 %.0f, p90 %.0f, p99 %.0f, max %.0f (n=%d)"
          % (percentile(latencies, 50), percentile(latencies, 90), percentile(latencies, 99),
             max(latencies or [float("nan")]), len(latencies)))
    print("alarm -> quick receiver, first delivery of each alarm (ms): p50 %.0f, p99 %.0f, max %.0f (n=%d)"
          % (percentile(first_ms, 50), percentile(first_ms, 99), max(first_ms or [float("nan")]), len(first_ms)))


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def sse(base, pid, clients, station_pair):
    host, port = base.replace("http://", "").split(":")
    port = int(port)
    got = 0
    opened = 0
    ready = asyncio.Event()
    all_open = asyncio.Event()

    async def client(i):
        nonlocal got, opened
        local = "127.0.%d.%d" % (1 + i // 250, 1 + i % 250)
        reader, writer = await asyncio.open_connection(host, port, local_addr=(local, 0))
        writer.write(("GET /api/alerts/stream HTTP/1.1\r\nhost: %s\r\n\r\n" % host).encode())
        await writer.drain()
        status = await reader.readline()
        assert b" 200 " in status, status
        opened += 1
        if opened == clients:
            all_open.set()
        await ready.wait()
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"event: alert"):
                got += 1
                writer.close()
                return

    # The probe back to normal first, so that the alarm below is a change.
    station, token = station_pair.split(":", 1)
    now = int(time.time())
    await asyncio.to_thread(request, "POST", "%s/api/stations/%s/readings" % (base, station), token,
                            [{"parameter": "salinity", "value": 0.5, "unit": "ppt",
                              "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 40))}])
    tasks = []
    for i in range(clients):
        tasks.append(asyncio.create_task(client(i)))
        if i % 500 == 499:
            await asyncio.sleep(0.2)
    await asyncio.wait_for(all_open.wait(), 120)
    await asyncio.sleep(2)
    held = rss_mb(pid)
    ready.set()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 30))
    started = time.monotonic()
    await asyncio.to_thread(request, "POST", "%s/api/stations/%s/readings" % (base, station), token,
                            [{"parameter": "salinity", "value": 9.5, "unit": "ppt", "time": stamp}])
    await asyncio.wait(tasks, timeout=60)
    print("sse: %d clients open, server VmRSS %.0f MB with them all open; %d of them received the alarm in %.1f s"
          % (opened, held, got, time.monotonic() - started))


def main():
    mode = sys.argv[1]
    if mode == "deliveries":
        base, editor, station, seconds, subs, slow_ms = sys.argv[2:8]
        deliveries(base, editor, station, float(seconds), int(subs), float(slow_ms))
    elif mode == "sse":
        base, pid, clients, station = sys.argv[2:6]
        asyncio.run(sse(base, int(pid), int(clients), station))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
