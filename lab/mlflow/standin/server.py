#!/usr/bin/env python3
"""The lab's MLflow tracking server stand-in: MLflow 3.x's REST API (the endpoints listed in
lab/mlflow/README.md) over HTTP, SQLite and a local artifact directory, in the Python standard
library only.

    python3 lab/mlflow/standin/server.py --state-dir DIR [--host 127.0.0.1] [--port 5050] [--quiet]

It prints "READY port=<p>" once it listens (--port 0 picks a free port). GET /version answers
"mlv-lab-standin", so a client can tell it from a real MLflow (which answers its version).
"""

import argparse
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api import NOT_COVERED, STANDIN_NAME, Api, InternalServerError, Reply, Request  # noqa: E402
from artifacts import Artifacts, IsDirectory  # noqa: E402
from errors import INTERNAL_ERROR_HTML, METHOD_NOT_ALLOWED_HTML, NOT_FOUND_HTML, MlflowError  # noqa: E402
from registry import Registry  # noqa: E402
from store import Store  # noqa: E402

PREFIXES = ("/api/2.0", "/ajax-api/2.0")
ARTIFACT_PREFIX = "/mlflow-artifacts/artifacts/"
HTML = "text/html; charset=utf-8"


class App:
    def __init__(self, state_dir):
        os.makedirs(state_dir, exist_ok=True)
        self.store = Store(os.path.join(state_dir, "mlflow.db"))
        self.artifacts = Artifacts(os.path.join(state_dir, "artifacts"))
        self.api = Api(self.store, Registry(self.store), self.artifacts)
        self.routes = self.api.routes()
        self.artifact_routes = self.api.artifact_routes()

    def resolve(self, path):
        """-> (methods -> handler, path argument or None) or (None, None)"""
        if path == "/health":
            return {"GET": lambda req: Reply(200, "OK", HTML)}, None
        if path == "/version":
            return {"GET": lambda req: Reply(200, STANDIN_NAME, HTML)}, None
        if path == "/":
            return {
                "GET": lambda req: Reply(
                    200,
                    f"{STANDIN_NAME}: the lab's MLflow REST stand-in (no UI). See lab/mlflow/README.md.\n",
                    "text/plain; charset=utf-8",
                )
            }, None
        for prefix in PREFIXES:
            if not path.startswith(prefix + "/"):
                continue
            rest = path[len(prefix) :]
            if rest in self.routes:
                return self.routes[rest], None
            if rest.startswith(ARTIFACT_PREFIX) and len(rest) > len(ARTIFACT_PREFIX):
                return self.artifact_routes, rest[len(ARTIFACT_PREFIX) :]
            if rest in NOT_COVERED:
                return "not-covered", None
        return None, None

    def handle(self, req):
        methods, arg = self.resolve(req.path)
        if methods is None:
            return Reply(404, NOT_FOUND_HTML, HTML)
        if methods == "not-covered":
            err = MlflowError(
                f"{STANDIN_NAME}: {req.path} is a real MLflow endpoint that the lab's stand-in does not implement "
                "(see lab/mlflow/README.md)",
                "NOT_IMPLEMENTED",
            )
            return Reply(err.status, err.body())
        allowed = sorted(set(methods) | ({"HEAD"} if "GET" in methods else set()) | {"OPTIONS"})
        method = "GET" if req.method == "HEAD" else req.method
        if req.method == "OPTIONS":
            api = any(req.path.startswith(p) for p in PREFIXES)
            return Reply(204 if api else 200, b"", HTML, {"Allow": ", ".join(allowed)})
        handler = methods.get(method)
        if handler is None:
            return Reply(405, METHOD_NOT_ALLOWED_HTML, HTML, {"Allow": ", ".join(allowed)})
        try:
            with self.store.lock:
                return handler(req, arg) if arg is not None else handler(req)
        except MlflowError as e:
            return Reply(e.status, e.body())
        except (InternalServerError, IsDirectory) as e:
            sys.stderr.write(f"[{STANDIN_NAME}] 500 on {req.method} {req.path}: {e!r}\n")
            return Reply(500, INTERNAL_ERROR_HTML, HTML)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = STANDIN_NAME
    app = None
    quiet = False

    def version_string(self):
        return STANDIN_NAME

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self):
        url = urllib.parse.urlsplit(self.path)
        query = {}
        for k, v in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
            query.setdefault(k, []).append(v)
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(self.command, urllib.parse.unquote(url.path), query, headers, self._body())
        try:
            reply = self.app.handle(req)
        except Exception as e:  # an unhandled error: the 500 page, as Flask answers it
            sys.stderr.write(f"[{STANDIN_NAME}] unhandled {e!r} on {self.command} {self.path}\n")
            reply = Reply(500, INTERNAL_ERROR_HTML, HTML)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, fmt, *args):
        if not self.quiet:
            sys.stderr.write(f"[{STANDIN_NAME}] {self.address_string()} {fmt % args}\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5050)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    Handler.app = App(args.state_dir)
    Handler.quiet = args.quiet
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    httpd = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"READY port={httpd.server_address[1]}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
