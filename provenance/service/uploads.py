"""Uploads streamed to disk as they arrive: size-limited, sniffed as video or still image, never held whole in
memory."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from provenance.manifest import image_format

SNIFF_BYTES = 189  # enough for every signature below (an MPEG-TS packet is 188 bytes, then the next sync byte)
ISO_BMFF_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")
TS_PACKET_BYTES = 188
MAX_FILENAME_CHARS = 255
UPLOAD_FIELD = "file"
DEFAULT_FILENAME = "upload"


class UploadRefused(Exception):
    """An upload the service will not take: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def looks_like_video(head: bytes) -> bool:
    """True when the first bytes are those of a container the verifier reads (MP4/MOV, Matroska/WebM, AVI,
    MPEG-TS, GIF)."""
    if head[4:8] in ISO_BMFF_BOXES or head.startswith(b"\x1a\x45\xdf\xa3") or head.startswith((b"GIF87a", b"GIF89a")):
        return True
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return True
    return head[:1] == b"\x47" and (len(head) <= TS_PACKET_BYTES or head[TS_PACKET_BYTES:][:1] == b"\x47")


def looks_verifiable(head: bytes) -> bool:
    """True for a video (`looks_like_video`) or a still image whose manifest verify reads (JPEG, PNG, WebP, AVIF,
    HEIC)."""
    return looks_like_video(head) or image_format(head) is not None


def check_filename(name: str | None) -> str:
    """The name a client gave its file, shown back to it; a name with a path or control characters is refused."""
    if not name:
        return DEFAULT_FILENAME
    if any(char in name for char in "/\\") or name in (".", "..") or any(ord(char) < 32 or ord(char) == 127
                                                                        for char in name):
        raise UploadRefused(400, "the file name must be a plain name, without a path or control characters")
    if len(name) > MAX_FILENAME_CHARS:
        raise UploadRefused(400, f"the file name is longer than {MAX_FILENAME_CHARS} characters")
    return name


class _ClipFile:
    """The clip's bytes written to `path` (created 0600), checked as a video or still image once the first bytes
    are in."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._head = b""
        self._sniffed = False
        self.size = 0

    def write(self, data: bytes) -> None:
        if not self._sniffed:
            self._head += data[:SNIFF_BYTES]
            if len(self._head) >= SNIFF_BYTES:
                self._sniff()
        self.size += len(data)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def _sniff(self) -> None:
        self._sniffed = True
        if not looks_verifiable(self._head):
            raise UploadRefused(415, "the upload is neither a video (MP4, MOV, WebM, MKV, AVI, MPEG-TS or GIF) nor a "
                                     "still image (JPEG, PNG, WebP, AVIF or HEIC)")

    def finish(self) -> None:
        if self.size == 0:
            raise UploadRefused(400, "the upload is empty")
        if not self._sniffed:
            self._sniff()
        os.fsync(self._fd)  # an accepted job's upload must survive a crash of the service

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class _FormFile:
    """Feeds a multipart/form-data body to a streaming parser; the part named `file` goes to the clip file."""

    def __init__(self, boundary: bytes, clip: _ClipFile) -> None:
        self.clip = clip
        self.filename: str | None = None
        self.found = self.ended = False
        self._in_file = False
        self._header_name = self._header_value = b""
        self._disposition = b""
        callbacks = {
            "on_part_begin": self._part_begin, "on_header_field": self._header_field,
            "on_header_value": self._header_part, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_end": self._end,
        }
        self.parser = MultipartParser(boundary, callbacks)

    def _part_begin(self) -> None:
        self._in_file = False
        self._disposition = b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_part(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        kind, params = parse_options_header(self._disposition)
        if kind != b"form-data" or params.get(b"name") != UPLOAD_FIELD.encode():
            return
        if self.found:
            raise UploadRefused(400, f"more than one '{UPLOAD_FIELD}' field")
        self.found = self._in_file = True
        name = params.get(b"filename")
        self.filename = check_filename(name.decode("utf-8", "replace") if name is not None else None)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.clip.write(data[start:end])

    def _end(self) -> None:
        self.ended = True

    def feed(self, chunk: bytes) -> None:
        try:
            self.parser.write(chunk)
        except MultipartParseError as exc:
            raise UploadRefused(400, f"malformed multipart body: {exc}") from None

    def finish(self) -> None:
        if not self.ended:
            raise UploadRefused(400, "malformed multipart body: it ends before its closing boundary")
        if not self.found:
            raise UploadRefused(400, f"no '{UPLOAD_FIELD}' field in the form")


async def _chunks(request: Request, max_bytes: int, idle_s: float) -> AsyncIterator[bytes]:
    """The request body, chunk by chunk: refused past `max_bytes`, or when no byte arrives for `idle_s`."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        raise UploadRefused(413 if declared.isdigit() else 400, f"the upload is over the limit of {max_bytes} bytes"
                            if declared.isdigit() else "bad Content-Length")
    received = 0
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), idle_s)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise UploadRefused(408, f"no data for {idle_s:g} s: upload abandoned") from None
        except ClientDisconnect:
            raise UploadRefused(400, "the client went away during the upload") from None
        received += len(chunk)
        if received > max_bytes:
            raise UploadRefused(413, f"the upload is over the limit of {max_bytes} bytes")
        yield chunk


async def receive_upload(request: Request, path: Path, max_bytes: int, idle_s: float) -> str:
    """Stream the clip in `request` (multipart field `file`, or the raw body) to `path`; return its file name.

    Raises UploadRefused, having removed `path`, for anything but a complete video or image upload within the
    limits.
    """
    clip = _ClipFile(path)
    try:
        kind, params = parse_options_header(request.headers.get("content-type", ""))
        form = None
        if kind == b"multipart/form-data":
            if not params.get(b"boundary"):
                raise UploadRefused(400, "malformed multipart body: no boundary")
            form = _FormFile(params[b"boundary"], clip)
        async for chunk in _chunks(request, max_bytes, idle_s):
            form.feed(chunk) if form is not None else clip.write(chunk)
        if form is not None:
            form.finish()
        clip.finish()
        return form.filename if form is not None else check_filename(request.query_params.get("name"))
    except BaseException:
        clip.close()
        path.unlink(missing_ok=True)
        raise
    finally:
        clip.close()
