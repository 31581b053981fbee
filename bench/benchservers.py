"""HTTP servers on 127.0.0.1 shared by the Python benchmark drivers (crash_campaign.py,
dynamodb_requests.py): a fleet of /info endpoints whose versions the driver changes, and an alert
receiver that answers as the driver decides. Imported, not run."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    request_queue_size = 4096  # the default backlog of 5 drops connects under 64-way load
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a watcher killed mid-request leaves a broken pipe: expected here


def serve(handler_class, state):
    """Starts a server in a thread of its own; handlers reach `state` as self.server.state."""
    server = Server(("127.0.0.1", 0), handler_class)
    server.state = state
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stall

    def reply(self, status, body, content_type, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class FleetInfo(Quiet):
    """GET /svc/N/info -> {"name": "svc-N", "version": state.version(N)}."""

    def do_GET(self):
        try:
            n = int(self.path.split("/")[2])
            self.reply(200, json.dumps({"name": "svc-%d" % n, "version": self.server.state.version(n)}).encode(), "application/json")
        except (IndexError, ValueError, KeyError):
            self.reply(404, b"{}", "application/json")


class AlertReceiver(Quiet):
    """POST anything -> the status state.answer(idempotency_key, path) returns; an error page
    echoes the request path (as many servers' do: a webhook URL's path is its secret)."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status = self.server.state.answer(self.headers.get("Idempotency-Key", "?"), self.path)
        body = b"ok" if status == 200 else ("error at %s" % self.path).encode()
        self.reply(status, body, "text/plain", [("Retry-After", "0")] if status == 429 else [])
