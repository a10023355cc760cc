"""Prometheus Alertmanager on the same load as Sekimori's respond-loop benchmark
(crates/sekimori-server/benches/respond_loop.rs), for a side-by-side ratio in
docs/benchmarks.md.

Usage: python3 benches/alertmanager/compare.py [ALERTMANAGER_BINARY]

Starts Alertmanager (Debian's prometheus-alertmanager; no cluster) with one webhook
receiver on loopback, makes 1,000 silences that match nothing of the load, POSTs 10,000
alerts (distinct users, five rules) through API v2 in batches of 1,000, and measures the
time from the first POST until the receiver has been told of every alert, once with
group_by [rule] and once with group_by [user] (group_wait 0s, group_interval 10ms, as the
Sekimori benchmark).
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

N = 10_000


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Receiver(BaseHTTPRequestHandler):
    seen = set()
    posts = 0
    lock = threading.Lock()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with Receiver.lock:
            Receiver.posts += 1
            for a in body["alerts"]:
                Receiver.seen.add(a["labels"]["user"])
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def call(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def run(binary, group_by):
    Receiver.seen = set()
    Receiver.posts = 0
    hook_port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", hook_port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    am_port = free_port()
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "am.yml")
        with open(cfg, "w") as f:
            f.write(
                "route:\n"
                f"  receiver: siem\n  group_by: [{', '.join(group_by)}]\n"
                "  group_wait: 0s\n  group_interval: 10ms\n  repeat_interval: 4h\n"
                "receivers:\n"
                f"  - name: siem\n    webhook_configs: [{{url: 'http://127.0.0.1:{hook_port}/hook', send_resolved: false}}]\n"
            )
        am = subprocess.Popen(
            [binary, f"--config.file={cfg}", f"--storage.path={d}", f"--web.listen-address=127.0.0.1:{am_port}",
             "--cluster.listen-address=", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{am_port}/api/v2"
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{am_port}/-/ready", timeout=1)
                    break
                except Exception:
                    time.sleep(0.1)
            now = datetime.now(timezone.utc)
            ends = (now + timedelta(days=1)).isoformat()
            for i in range(1000):
                call(f"{base}/silences", {
                    "matchers": [{"name": "user", "value": f"nobody{i}", "isRegex": False},
                                 {"name": "rule", "value": "new_.*", "isRegex": True}],
                    "startsAt": now.isoformat(), "endsAt": ends, "createdBy": "bench", "comment": "bench"})
            alerts = [{"labels": {"alertname": "bench", "rule": f"rule-{i % 5}", "user": f"user{i}",
                                  "severity": "high"},
                       "startsAt": now.isoformat()} for i in range(N)]
            start = time.monotonic()
            for i in range(0, N, 1000):
                call(f"{base}/alerts", alerts[i:i + 1000])
            while True:
                with Receiver.lock:
                    if len(Receiver.seen) >= N:
                        break
                if time.monotonic() - start > 600:
                    raise SystemExit(f"only {len(Receiver.seen)} alerts notified in 600 s")
                time.sleep(0.005)
            secs = time.monotonic() - start
            print(f"alertmanager: group_by {group_by}: {N} alerts notified in {secs:.2f} s = "
                  f"{N / secs:.0f} alerts/s; {Receiver.posts} notifications")
        finally:
            am.terminate()
            am.wait()
            server.shutdown()


if __name__ == "__main__":
    binary = sys.argv[1] if len(sys.argv) > 1 else "prometheus-alertmanager"
    print(subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.splitlines()[0])
    run(binary, ["rule"])
    run(binary, ["user"])
