"""Builders of hostile inputs for tests/test_bad_input.py, all written under a test's tmp_path.

Every builder is deterministic (seeded bytes, fixed dates, fixed record ids) and small on disk:
the "50 MB page" and the bombs are highly compressible, so they cost little to write.
"""

from __future__ import annotations

import gzip
import io
import random
import socket
import tarfile
import threading
import zipfile
from pathlib import Path

WARC_DATE = "2024-01-01T00:00:00Z"


def http_block(body: bytes, content_type: str | None = "text/html", status: str = "200 OK",
               extra_headers: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    head += extra_headers + f"Content-Length: {len(body)}\r\n\r\n"
    return head.encode("latin-1") + body


def warc_record(uri: str, block: bytes, *, n: int, wtype: str = "response",
                content_length: str | None = None) -> bytes:
    """One WARC/1.0 record; ``content_length`` overrides the true length (to lie)."""
    length = str(len(block)) if content_length is None else content_length
    head = (
        "WARC/1.0\r\n"
        f"WARC-Type: {wtype}\r\n"
        f"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-{n:012d}>\r\n"
        f"WARC-Date: {WARC_DATE}\r\n"
        f"WARC-Target-URI: {uri}\r\n"
        "Content-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {length}\r\n\r\n"
    )
    return head.encode("latin-1") + block + b"\r\n\r\n"


def page(title: str, body_html: str = "") -> bytes:
    return (f"<!DOCTYPE html><html><head><title>{title}</title></head><body><main><h1>{title}</h1>"
            f"<p>This page about {title} explains why the integral \\(\\int_0^1 x^2\\,dx = 1/3\\) holds, "
            f"with enough ordinary prose around it for an extractor to call it content.</p>"
            f"{body_html}</main></body></html>").encode()


def write_warc_gz(path: Path, records: list[bytes]) -> list[int]:
    """One gzip member per record, as Common Crawl writes them; returns member end offsets."""
    ends, out = [], bytearray()
    for rec in records:
        out += gzip.compress(rec, compresslevel=6, mtime=0)
        ends.append(len(out))
    path.write_bytes(bytes(out))
    return ends


def random_bytes(n: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


def tar_gz(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))


def tar_gz_zero_member(path: Path, name: str, size: int) -> None:
    """A tarball whose one member is ``size`` zero bytes: a decompression bomb in miniature."""

    class Zeros(io.RawIOBase):
        def __init__(self, left: int):
            self.left = left

        def readable(self) -> bool:
            return True

        def readinto(self, buf) -> int:
            k = min(len(buf), self.left)
            buf[:k] = bytes(k)
            self.left -= k
            return k

    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        tar.addfile(info, io.BufferedReader(Zeros(size)))


CONTAINER = ('<?xml version="1.0"?><container version="1.0" '
             'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
             '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
             '</rootfiles></container>')


def opf(chapters: list[str], title: str = "A book", doctype: str = "") -> str:
    items = "".join(f'<item id="c{i}" href="{h}" media-type="application/xhtml+xml"/>' for i, h in enumerate(chapters))
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    return (f'<?xml version="1.0"?>{doctype}<package xmlns="http://www.idpf.org/2007/opf" version="2.0">'
            f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title></metadata>'
            f"<manifest>{items}</manifest><spine>{spine}</spine></package>")


def epub(path: Path, members: dict[str, bytes | str], container: str = CONTAINER) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", container)
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, compress_type=zipfile.ZIP_DEFLATED)


def billion_laughs_dtd(root: str, levels: int = 9) -> str:
    """The classic entity-expansion bomb: ``&l9;`` is 10^9 'lol's once expanded."""
    lines = ['<!ENTITY l0 "lol">']
    lines += [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, levels + 1)]
    return f"<!DOCTYPE {root} [\n" + "\n".join(lines) + "\n]>"


def xxe_dtd(root: str, secret_file: Path, url: str) -> str:
    return (f'<!DOCTYPE {root} [\n<!ENTITY xfile SYSTEM "file://{secret_file}">\n'
            f'<!ENTITY xnet SYSTEM "{url}">\n<!ENTITY % xparam SYSTEM "{url}dtd">\n%xparam;\n]>')


class ConnectionRecorder:
    """A TCP server on 127.0.0.1 that records every connection made to it (and answers nothing)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(addr)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
