#!/usr/bin/python3
"""A webhook receiver for the end-to-end tests: answers 500 to the first
--fail attempts of each notice id, then 200, and appends every accepted body
(one JSON object a line) to --out. Prints its port on the first line of
--port-file once listening on 127.0.0.1 (port chosen by the OS).
"""
import argparse
import http.server
import json
import threading

parser = argparse.ArgumentParser()
parser.add_argument("--fail", type=int, default=2)
parser.add_argument("--out", required=True)
parser.add_argument("--port-file", required=True)
args = parser.parse_args()

attempts = {}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        notice_id = self.headers.get("X-Duban-Notice-Id", "")
        with lock:
            attempts[notice_id] = attempts.get(notice_id, 0) + 1
            ok = attempts[notice_id] > args.fail
            if ok:
                record = json.loads(body)
                record["_attempts"] = attempts[notice_id]
                record["_idempotency_key"] = self.headers.get("Idempotency-Key", "")
                with open(args.out, "a") as f:
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.send_response(200 if ok else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *unused):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os  # noqa: E402
os.rename(args.port_file + ".tmp", args.port_file)
server.serve_forever()
