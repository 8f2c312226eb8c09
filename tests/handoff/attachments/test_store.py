"""Attachments encrypted at rest (handoff/attachments/store.py)."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from handoff.attachments.store import AttachmentStore, DamagedAttachment, UnknownAttachment
from tests.handoff.attachments.support import SECRET_TEXT, pdf

KEY = "attachment-test-key-0123456789abcdef"
DATA = pdf(SECRET_TEXT.encode())


@pytest.fixture
def store(tmp_path: Path) -> AttachmentStore:
    return AttachmentStore(tmp_path / "liitteet", KEY)


def test_a_file_round_trips_and_is_encrypted_on_disk(store: AttachmentStore) -> None:
    attachment_id = store.save(DATA)
    assert store.read(attachment_id) == DATA
    on_disk = (store.directory / attachment_id).read_bytes()
    assert SECRET_TEXT.encode() not in on_disk and b"%PDF" not in on_disk
    assert [path.name for path in store.directory.iterdir()] == [attachment_id]  # no partial file left


def test_files_and_their_directory_are_the_service_users_only(store: AttachmentStore) -> None:
    attachment_id = store.save(DATA)
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((store.directory / attachment_id).stat().st_mode) == 0o600


def test_ids_are_random_and_each_file_has_its_own_nonce(store: AttachmentStore) -> None:
    first, second = store.save(DATA), store.save(DATA)
    assert first != second and len(first) == 32
    assert (store.directory / first).read_bytes() != (store.directory / second).read_bytes()


def test_a_file_copied_to_another_id_does_not_decrypt(store: AttachmentStore) -> None:
    original, other = store.save(DATA), store.save(b"%PDF-1.4 toinen\n%%EOF")
    shutil.copyfile(store.directory / original, store.directory / other)
    with pytest.raises(DamagedAttachment):
        store.read(other)


def test_another_key_or_a_changed_byte_does_not_decrypt(store: AttachmentStore, tmp_path: Path) -> None:
    attachment_id = store.save(DATA)
    with pytest.raises(DamagedAttachment):
        AttachmentStore(store.directory, "another-key-0123456789abcdefghijkl").read(attachment_id)
    path = store.directory / attachment_id
    sealed = bytearray(path.read_bytes())
    sealed[-1] ^= 1
    path.write_bytes(bytes(sealed))
    with pytest.raises(DamagedAttachment):
        store.read(attachment_id)
    path.write_bytes(b"not ours")
    with pytest.raises(DamagedAttachment):
        store.read(attachment_id)


@pytest.mark.parametrize(
    "attachment_id",
    [
        "",
        "..",
        "../liitteet",
        "/etc/passwd",
        "a/b",
        ".." + "A" * 30,
        "A" * 31 + "/",
        "A" * 33,
        "A" * 31 + "\0",
    ],
)
def test_ids_the_store_never_makes_are_refused(store: AttachmentStore, attachment_id: str) -> None:
    with pytest.raises(UnknownAttachment):
        store.read(attachment_id)
    with pytest.raises(UnknownAttachment):
        store.delete(attachment_id)
    assert not store.exists(attachment_id)


def test_a_traversal_id_cannot_reach_a_file_beside_the_store(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path / "liitteet", KEY)
    (tmp_path / "salaisuus").write_bytes(b"x")
    with pytest.raises(UnknownAttachment):
        store.read("../salaisuus")
    with pytest.raises(UnknownAttachment):
        store.delete("../salaisuus")
    assert (tmp_path / "salaisuus").exists()


def test_an_unknown_id_is_refused(store: AttachmentStore) -> None:
    with pytest.raises(UnknownAttachment):
        store.read("A" * 32)
    assert store.delete("A" * 32) is False


def test_delete_and_delete_all(store: AttachmentStore) -> None:
    kept, removed, purged = store.save(DATA), store.save(DATA), [store.save(DATA), store.save(DATA)]
    assert store.delete(removed) is True
    assert not store.exists(removed)
    with pytest.raises(UnknownAttachment):
        store.read(removed)
    assert store.delete_all([*purged, removed]) == 2
    assert [path.name for path in store.directory.iterdir()] == [kept]
    assert store.read(kept) == DATA


def test_a_short_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        AttachmentStore(tmp_path, "short")


def test_the_key_does_not_show_in_its_repr(store: AttachmentStore) -> None:
    assert KEY not in repr(store)
