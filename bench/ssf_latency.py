#!/usr/bin/env python3
"""SSF push latency: the time from a deactivation's 200 to its account-disabled SET arriving at
a local RFC 8935 receiver. Standard library only. Called by bench/ssf.sh.

usage: ssf_latency.py BASE_URL ADMIN_TOKEN CLIENT_TOKEN RECEIVER_PORT USER_ID...
Deactivates the users one after another (each waits for its SET before the next), and prints
one latency per line in milliseconds, then a summary line on stderr.
"""
import base64
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DISABLED = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
arrived = {}
cond = threading.Condition()


def claims(token):
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        now = time.monotonic()
        self.send_response(202)
        self.send_header("content-length", "0")
        self.end_headers()
        c = claims(body.decode())
        if DISABLED in c.get("events", {}):
            with cond:
                arrived[c["sub_id"]["sub"]] = now
                cond.notify_all()

    def log_message(self, *args):
        pass


def call(method, url, token, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method=method)
    request.add_header("authorization", f"Bearer {token}")
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request) as response:
        return response.status, response.read()


def main():
    base, admin, client, port, users = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    status, _ = call("POST", f"{base}/ssf/streams", client, {
        "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": f"http://127.0.0.1:{port}/ssf"},
        "events_requested": [DISABLED],
    })
    assert status == 201, status
    latencies = []
    for user in users:
        status, _ = call("PATCH", f"{base}/api/v1/users/deactivate", admin, {"user_id": user, "reason": "bench"})
        answered = time.monotonic()
        assert status == 200, status
        with cond:
            if not cond.wait_for(lambda: user in arrived, timeout=30):
                sys.exit(f"no SET for {user} within 30 s")
        latencies.append((arrived[user] - answered) * 1000)
        print(f"{latencies[-1]:.2f}")
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    print(f"n={len(latencies)} p50={pick(0.50):.1f} ms p99={pick(0.99):.1f} ms max={latencies[-1]:.1f} ms", file=sys.stderr)


main()
