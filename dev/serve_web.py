"""Serves the reference web app's static build (web/dist) on 127.0.0.1, for dev/up.sh and the
browser tests: the files as built, and /config.json naming the API the page calls (the local
stack's functions), which is what a static host serves beside index.html once deployed.

    python3 dev/serve_web.py --port 3000 --root web/dist --api-url http://127.0.0.1:19000 --layout local
"""

import argparse
import functools
import json
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class Handler(SimpleHTTPRequestHandler):
    config = b"{}"

    def do_GET(self):
        if self.path.split("?", 1)[0] == "/config.json":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self.config)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(self.config)
            return
        super().do_GET()

    def end_headers(self):
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--layout", choices=["local", "gateway"], default="local")
    args = parser.parse_args()
    Handler.config = json.dumps({"api_url": args.api_url, "layout": args.layout}).encode()
    handler = functools.partial(Handler, directory=args.root)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    print(f"serving {args.root} on http://127.0.0.1:{args.port}/ (API {args.api_url}, {args.layout})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
