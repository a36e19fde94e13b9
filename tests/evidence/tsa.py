"""A local RFC 3161 authority for tests: a throwaway CA, a TSA certificate, and an HTTP server that answers
queries with ``openssl ts -reply`` on 127.0.0.1."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_CONFIG = """
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = promowatch test {name}
[ tsa_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
[ ca_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@dataclass
class TestAuthority:
    url: str
    ca_file: Path
    requests: list[bytes]


def make_authority(root: Path) -> None:
    """Create ca.pem/ca.key and a timeStamping tsa.pem/tsa.key signed by it, plus ts.cnf."""
    (root / "ts.cnf").write_text(_CONFIG.format(name="TSA", dir=root))
    (root / "ca.cnf").write_text(_CONFIG.format(name="CA", dir=root))
    (root / "serial").write_text("01\n")
    _run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-config",
        "ca.cnf",
        "-extensions",
        "ca_ext",
        cwd=root,
    )
    _run(
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "tsa.key",
        "-out",
        "tsa.csr",
        "-config",
        "ts.cnf",
        cwd=root,
    )
    _run(
        "x509",
        "-req",
        "-in",
        "tsa.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "tsa.pem",
        "-days",
        "2",
        "-extfile",
        "ts.cnf",
        "-extensions",
        "tsa_ext",
        cwd=root,
    )


@contextmanager
def running_authority() -> Iterator[TestAuthority]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_authority(root)
        requests: list[bytes] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = self.rfile.read(int(self.headers["Content-Length"]))
                requests.append(query)
                with tempfile.TemporaryDirectory() as work:
                    (Path(work) / "q.tsq").write_bytes(query)
                    subprocess.run(
                        [
                            "openssl",
                            "ts",
                            "-reply",
                            "-config",
                            str(root / "ts.cnf"),
                            "-queryfile",
                            "q.tsq",
                            "-out",
                            "r.tsr",
                        ],
                        cwd=work,
                        check=True,
                        capture_output=True,
                    )
                    reply = (Path(work) / "r.tsr").read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield TestAuthority(f"http://127.0.0.1:{server.server_address[1]}/tsa", root / "ca.pem", requests)
        finally:
            server.shutdown()
            server.server_close()
