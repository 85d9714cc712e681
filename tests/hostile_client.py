"""A hostile visitor without a browser: what any script can do to a Streamlit server on its own
session. Used by tests/test_hostile_server.py and benchmarks/bench_hosting.py.

    with Visitor(server.port) as v:      # a websocket session, as a tab opens one
        v.put(20 * MB)                   # a raw PUT to /_stcore/upload_file/<own session>/<new uuid>
                                         # with the visitor's own XSRF token: the HTTP status

The session is Streamlit's own: GET /_stcore/health gives the XSRF cookie, the websocket (subprotocol
"streamlit" and that token) opens a session, and asking for a script run makes the server send
NewSession with the session id, which the upload endpoint requires to be connected.
"""

from __future__ import annotations

import http.client
import re
import urllib.request
import uuid

MB = 1024 * 1024


def upload_bytes_held(srv) -> int:
    """What Streamlit's upload store holds on the server `srv` (a StreamlitServer), from its own
    metrics endpoint: the figure the upload budget and its release are read by."""
    req = urllib.request.Request(srv.url("_stcore/metrics"), headers={"Accept": "text/plain"})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
    m = re.search(r'cache_memory_bytes\{cache_type="UploadedFileManager"[^}]*\} (\d+)', text)
    return int(m.group(1)) if m else 0


class Visitor:
    def __init__(self, port: int, timeout: float = 60.0):
        self.port, self.timeout = port, timeout
        self.ws = None
        self.session_id: str | None = None
        self.xsrf: str | None = None

    def _request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.getheader("set-cookie") or "", r.read()
        finally:
            conn.close()

    def open(self) -> Visitor:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from websockets.sync.client import connect

        _, cookie, _ = self._request("GET", "/_stcore/health")  # the route that sets the XSRF cookie
        m = re.search(r"_streamlit_xsrf=([^;]+)", cookie)
        self.xsrf = m.group(1) if m else None
        protocols = ["streamlit", *([self.xsrf] if self.xsrf else [])]
        self.ws = connect(f"ws://127.0.0.1:{self.port}/_stcore/stream", subprotocols=protocols,
                          origin=f"http://127.0.0.1:{self.port}", max_size=None, open_timeout=self.timeout,
                          additional_headers={"Cookie": f"_streamlit_xsrf={self.xsrf}"} if self.xsrf else None)
        back = BackMsg()
        back.rerun_script.query_string = ""
        back.rerun_script.page_script_hash = ""
        self.ws.send(back.SerializeToString())
        finished = False
        while not finished:  # the session id, then the end of the first page run (the app's own
            msg = ForwardMsg()  # setup, the upload budget among it, is then in place)
            msg.ParseFromString(self.ws.recv(timeout=self.timeout))
            if msg.HasField("new_session"):
                self.session_id = msg.new_session.initialize.session_id
            finished = msg.HasField("script_finished") and self.session_id is not None
        return self

    def put(self, size: int, name: str = "x.bin") -> int:
        """PUT one file of `size` bytes as the uploader's multipart form: the status."""
        boundary = uuid.uuid4().hex
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        body = head + b"\x00" * size + f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if self.xsrf:
            headers.update({"X-Xsrftoken": self.xsrf, "Cookie": f"_streamlit_xsrf={self.xsrf}"})
        status, _, _ = self._request("PUT", f"/_stcore/upload_file/{self.session_id}/{uuid.uuid4()}", body, headers)
        return status

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None

    def __enter__(self) -> Visitor:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()
