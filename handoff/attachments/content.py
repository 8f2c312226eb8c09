"""What a resident may attach: PDF, JPEG or PNG up to 10 MB, recognised by content, never by name.

:func:`prepare` checks a file and returns what may be stored: images decoded and
re-encoded (Pillow) so that no EXIF (GPS), ICC profile, comment or text chunk
survives, PDFs as they are once their start and end look right. Anything else
raises :class:`Refused` with a short machine ``reason`` the caller words in Finnish.

Decoding is CPU-bound: an async caller runs :func:`prepare` in a thread.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageOps

Kind = Literal["pdf", "jpeg", "png"]
Reason = Literal["empty", "too_large", "unsupported_type", "damaged"]

MAX_BYTES = 10 * 1024 * 1024
# Decoded size limit (width × height), checked from the header before decoding: a
# 48-megapixel phone photo passes, a decompression bomb does not.
MAX_PIXELS = 50_000_000
_PDF_EOF_WINDOW = 1024
_MAX_NAME_CHARS = 100

CONTENT_TYPES: dict[Kind, str] = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}
_EXTENSIONS: dict[Kind, str] = {"pdf": ".pdf", "jpeg": ".jpg", "png": ".png"}
_DEFAULT_STEMS: dict[Kind, str] = {"pdf": "liite", "jpeg": "kuva", "png": "kuva"}
_PIL_FORMATS: dict[Kind, str] = {"jpeg": "JPEG", "png": "PNG"}
_MAGIC: tuple[tuple[bytes, Kind], ...] = (
    (b"%PDF-", "pdf"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
)
# Characters dropped from a display name besides control and format characters.
_UNSAFE_NAME_CHARS = re.compile(r'[/\\<>:"|?*]')
_EXTENSION = re.compile(r"\.(?=[0-9]*[A-Za-z])[A-Za-z0-9]{1,5}$")  # ".jpeg", ".mp4"; not ".2026"


class Refused(ValueError):
    """A file that cannot be attached; ``reason`` says why."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: Reason = reason


@dataclass(frozen=True)
class Prepared:
    """A checked file, ready to scan and store (``data`` is what is stored, not the upload)."""

    data: bytes
    kind: Kind
    content_type: str
    filename: str
    size: int
    sha256: str


def sniff(data: bytes) -> Kind | None:
    """The kind of ``data`` by its magic bytes, or ``None``."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return None


def prepare(data: bytes, filename: str) -> Prepared:
    """``data`` checked and cleaned, with a safe display name, or :class:`Refused`."""
    if not data:
        raise Refused("empty")
    if len(data) > MAX_BYTES:
        raise Refused("too_large", f"{len(data)} bytes")
    kind = sniff(data)
    if kind is None:
        raise Refused("unsupported_type")
    if kind == "pdf":
        if b"%%EOF" not in data[-_PDF_EOF_WINDOW:]:
            raise Refused("damaged", "no %%EOF at the end")
        cleaned = data
    else:
        cleaned = _reencoded(data, kind)
        if len(cleaned) > MAX_BYTES:
            raise Refused("too_large", f"{len(cleaned)} bytes once re-encoded")
    return Prepared(
        data=cleaned,
        kind=kind,
        content_type=CONTENT_TYPES[kind],
        filename=safe_filename(filename, kind),
        size=len(cleaned),
        sha256=hashlib.sha256(cleaned).hexdigest(),
    )


def safe_filename(filename: str, kind: Kind) -> str:
    """A display name: the basename without control characters or separators, the extension of ``kind``."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    # Control characters and separators become spaces; invisible format characters (a
    # right-to-left override that makes "gpj.exe" look like "exe.jpg") are dropped.
    name = "".join(_name_char(char) for char in _UNSAFE_NAME_CHARS.sub("", name))
    stem = _EXTENSION.sub("", " ".join(name.split())).strip(" .")
    extension = _EXTENSIONS[kind]
    stem = stem[: _MAX_NAME_CHARS - len(extension)].rstrip(" .") or _DEFAULT_STEMS[kind]
    return stem + extension


def _name_char(char: str) -> str:
    category = unicodedata.category(char)
    if category[0] == "C":
        return "" if category == "Cf" else " "
    return " " if category[0] == "Z" else char


def _reencoded(data: bytes, kind: Kind) -> bytes:
    """The first frame of the image decoded, turned upright, and saved again without metadata."""
    try:
        with Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[kind]]) as source:
            width, height = source.size
            if width * height > MAX_PIXELS:
                raise Refused("too_large", f"{width}×{height} pixels")
            source.load()
            upright = ImageOps.exif_transpose(source)
    except Refused:
        raise
    except Image.DecompressionBombError as error:
        raise Refused("too_large", str(error)) from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, struct.error) as error:
        # What Pillow raises on a broken file (UnidentifiedImageError is an OSError).
        raise Refused("damaged", str(error)) from None
    transparency = upright.info.get("transparency")
    upright.info.clear()  # EXIF, ICC profile, comments, text chunks, XMP: none of it is written back
    out = io.BytesIO()
    if kind == "jpeg":
        if upright.mode not in ("L", "RGB"):
            upright = upright.convert("RGB")
        upright.save(out, format="JPEG", quality=90)
    else:
        options = {} if transparency is None else {"transparency": transparency}
        upright.save(out, format="PNG", **options)
    return out.getvalue()
