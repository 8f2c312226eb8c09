"""Checking and cleaning an attachment (handoff/attachments/content.py)."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import ExifTags, Image

from handoff.attachments import content
from handoff.attachments.content import MAX_BYTES, Refused, prepare, safe_filename, sniff
from tests.handoff.attachments.support import (
    CAMERA,
    SECRET_TEXT,
    jpeg_with_gps,
    pdf,
    plain_png,
    png_bomb,
    png_with_text,
)


def refusal(data: bytes, filename: str = "liite") -> str:
    with pytest.raises(Refused) as caught:
        prepare(data, filename)
    return caught.value.reason


def test_the_kind_is_read_from_the_magic_bytes_only() -> None:
    assert sniff(pdf()) == "pdf"
    assert sniff(jpeg_with_gps()) == "jpeg"
    assert sniff(plain_png()) == "png"
    assert sniff(b"GIF89a\x01\x00\x01\x00") is None
    assert sniff(b"  %PDF-1.4") is None
    assert sniff(b"") is None


def test_a_pdf_passes_as_it_is() -> None:
    data = pdf()
    prepared = prepare(data, "Päätös 2026.pdf")
    assert prepared.data == data
    assert (prepared.kind, prepared.content_type) == ("pdf", "application/pdf")
    assert prepared.filename == "Päätös 2026.pdf"
    assert prepared.size == len(data)
    assert prepared.sha256 == hashlib.sha256(data).hexdigest()


def test_a_pdf_named_like_an_image_is_a_pdf() -> None:
    prepared = prepare(pdf(), "kuva.png")
    assert (prepared.kind, prepared.content_type, prepared.filename) == ("pdf", "application/pdf", "kuva.pdf")


def test_a_pdf_of_exactly_the_limit_passes() -> None:
    data = pdf(b"0" * (MAX_BYTES - len(pdf(b""))))
    assert len(data) == MAX_BYTES
    assert prepare(data, "iso.pdf").size == MAX_BYTES


def test_a_jpeg_comes_out_without_exif_gps_comment_or_icc_profile() -> None:
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as before:  # the test file does carry all of it
        assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert before.info["comment"] and before.info["icc_profile"]
    prepared = prepare(original, "IMG_0001.JPG")
    assert (prepared.kind, prepared.content_type, prepared.filename) == ("jpeg", "image/jpeg", "IMG_0001.jpg")
    with Image.open(io.BytesIO(prepared.data)) as after:
        assert after.format == "JPEG" and after.size == (40, 20)
        assert not after.getexif()
        assert not {"exif", "comment", "icc_profile", "xmp"} & set(after.info)
    assert b"Exif" not in prepared.data
    assert CAMERA.encode() not in prepared.data
    assert SECRET_TEXT.encode() not in prepared.data


def test_a_rotated_photo_is_turned_upright_before_its_exif_goes() -> None:
    # Orientation 6: stored sideways, shown turned 90° clockwise; the blue half ends up on top.
    prepared = prepare(jpeg_with_gps(size=(40, 20), orientation=6), "kuva.jpg")
    with Image.open(io.BytesIO(prepared.data)) as after:
        assert after.size == (20, 40)
        assert not after.getexif()
        top, bottom = after.convert("RGB").getpixel((10, 5)), after.convert("RGB").getpixel((10, 35))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[2] > 200 > top[0]  # blue
    assert bottom[0] > 200 > bottom[2]  # red


def test_a_png_comes_out_without_text_chunks_or_exif() -> None:
    original = png_with_text()
    with Image.open(io.BytesIO(original)) as before:
        assert before.info["Author"] == SECRET_TEXT
    prepared = prepare(original, "kuvakaappaus.png")
    assert (prepared.kind, prepared.content_type) == ("png", "image/png")
    with Image.open(io.BytesIO(prepared.data)) as after:
        assert after.format == "PNG" and after.size == (30, 30)
        assert not after.getexif()
        assert not getattr(after, "text", {})
    for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"iCCP"):
        assert chunk not in prepared.data
    assert SECRET_TEXT.encode() not in prepared.data


def test_a_palette_png_keeps_its_transparency() -> None:
    image = Image.new("P", (8, 8), 1)
    image.putpalette([0, 0, 0, 255, 255, 255] * 128)
    out = io.BytesIO()
    image.save(out, "PNG", transparency=1)
    with Image.open(io.BytesIO(prepare(out.getvalue(), "a.png").data)) as after:
        assert after.mode == "P" and after.info.get("transparency") == 1


def test_nothing_is_refused_for_empty_and_too_large_files() -> None:
    assert refusal(b"") == "empty"
    assert refusal(pdf(b"0" * MAX_BYTES)) == "too_large"


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "kuva.gif"),
        (b"Hei, t\xc3\xa4ss\xc3\xa4 liite", "liite.pdf"),  # the name says PDF, the content does not
        (b"PK\x03\x04" + b"\0" * 40, "asiakirja.docx"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "kuva.png"),
    ],
)
def test_other_types_are_refused_whatever_their_name(data: bytes, filename: str) -> None:
    assert refusal(data, filename) == "unsupported_type"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\n",  # no %%EOF
        pdf() + b"x" * 2000,  # %%EOF but not within the last kilobyte
        b"\xff\xd8\xff\xe0" + b"not a jpeg" * 10,
        jpeg_with_gps()[:200],  # cut short
        b"\x89PNG\r\n\x1a\n" + b"\0" * 50,
        plain_png()[:-30],  # cut short
    ],
)
def test_damaged_files_are_refused(data: bytes) -> None:
    assert refusal(data) == "damaged"


def test_a_decompression_bomb_is_refused() -> None:
    bomb = png_bomb()
    assert len(bomb) < 100_000
    assert refusal(bomb, "pommi.png") == "too_large"


def test_an_image_over_the_pixel_limit_is_refused_before_it_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(content, "MAX_PIXELS", 16 * 16 - 1)
    assert refusal(plain_png(), "kuva.png") == "too_large"


@pytest.mark.parametrize(
    ("filename", "kind", "expected"),
    [
        ("../../etc/passwd", "pdf", "passwd.pdf"),
        ("C:\\Users\\maija\\Kuvat\\lapsi.jpeg", "jpeg", "lapsi.jpg"),
        ("lasku\x00\r\n2026.pdf", "pdf", "lasku 2026.pdf"),
        ("kuva\u202egnp.exe", "png", "kuvagnp.png"),  # a right-to-left override is dropped
        ('a<b>c:"d"|e?f*.png', "png", "abcdef.png"),
        ("  raportti.tar.gz ", "pdf", "raportti.tar.pdf"),
        ("muistio 3.12.2026", "pdf", "muistio 3.12.2026.pdf"),  # a date is not an extension
        ("", "pdf", "liite.pdf"),
        ("...", "jpeg", "kuva.jpg"),
        ("/", "png", "kuva.png"),
        (".png", "png", "kuva.png"),
        ("a" * 300 + ".pdf", "pdf", "a" * 96 + ".pdf"),
        ("Pa\u0308a\u0308to\u0308s.pdf", "pdf", "Päätös.pdf"),  # decomposed (macOS) letters composed
    ],
)
def test_the_display_name_is_a_safe_basename_with_the_detected_extension(
    filename: str, kind: content.Kind, expected: str
) -> None:
    assert safe_filename(filename, kind) == expected
    assert len(safe_filename(filename, kind)) <= 100
