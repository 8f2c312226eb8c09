"""Test files for the attachment tests: images with metadata, PDFs, a decompression bomb, EICAR."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo

# The EICAR test string, joined at run time so that no scanner on a developer's
# machine flags this source file.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
# Bytes no real file contains, matched by the test-made body signature.
TEST_SIGNATURE_NAME = "Opastin.Test.Signature"
TEST_SIGNATURE_BYTES = b"OPASTIN-" + b"ATTACHMENT-TEST-SIGNATURE-7f3a"
CAMERA = "Opastin Test Camera"
SECRET_TEXT = "Maija Meikäläinen, Kotikatu 1"


def pdf(body: bytes = b"Hei") -> bytes:
    """A small PDF-looking file (the service only checks its start and end)."""
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nstream\n" + body + b"\nendstream\nendobj\n%%EOF\n"


def jpeg_with_gps(size: tuple[int, int] = (40, 20), orientation: int = 1) -> bytes:
    """A JPEG with an EXIF camera name, GPS position and orientation, a comment and an ICC profile."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (60.0, 10.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (24.0, 56.0, 15.0)
    image = Image.new("RGB", size, "red")
    image.paste("blue", (0, 0, size[0] // 2, size[1]))  # left half blue: shows which way is up
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=SECRET_TEXT.encode(), icc_profile=b"opastin-icc-profile")
    return out.getvalue()


def png_with_text() -> bytes:
    """A PNG with tEXt, iTXt and zTXt chunks and EXIF."""
    info = PngInfo()
    info.add_text("Author", SECRET_TEXT)
    info.add_itxt("Comment", SECRET_TEXT)
    info.add_text("Location", SECRET_TEXT, zip=True)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA
    out = io.BytesIO()
    Image.new("RGB", (30, 30), "green").save(out, "PNG", pnginfo=info, exif=exif)
    return out.getvalue()


def plain_png() -> bytes:
    """A small PNG without metadata."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(out, "PNG")
    return out.getvalue()


def png_bomb(side: int = 20_000) -> bytes:
    """A valid 1-bit PNG of ``side`` × ``side`` black pixels: some kilobytes, hundreds of megapixels."""
    row = b"\0" * (1 + (side + 7) // 8)  # filter byte 0 and the packed pixels
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
