"""Report files `kzqa index FILE` cannot use (empty, binary, a PDF without text, encrypted): a
one-line error, nothing built.

Part of the fault suite (tests/faults/; its conventions are in tests/faults/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faulthelpers import assert_one_line_error, run


# ================================================================ report files for `kzqa index FILE`

def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _pdf_without_text(path: Path) -> Path:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.rect(100, 100, 200, 200, fill=1)  # a picture, no text (like a scan)
    c.showPage()
    c.save()
    return path


def _encrypted_pdf(path: Path) -> Path:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), encrypt=pdfencrypt.StandardEncryption("secret", ownerPassword="owner"))
    c.drawString(72, 720, "Section 1. Respect for the Integrity of the Person")
    c.showPage()
    c.save()
    return path


@pytest.mark.parametrize(
    "make, parts",
    [
        (lambda p: p / "missing.txt", ["no such file"]),
        (lambda p: p, ["is a folder"]),
        (lambda p: _file(p / "empty.txt", b""), ["the file is empty"]),
        (lambda p: _file(p / "blank.txt", b"\n \n\t\n"), ["the file is empty"]),
        (lambda p: _file(p / "bin.dat", bytes(range(256)) * 8), ["looks like a binary file"]),
        (lambda p: _file(p / "latin1.txt", "Section 1. Café société".encode("latin-1")), ["not UTF-8 text", "offset 14"]),
        (lambda p: _file(p / "digits.txt", b"123 456 ... --- 789\n"), ["has no words"]),
        (lambda p: _file(p / "broken.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 20), ["cannot read this PDF"]),
        (lambda p: _file(p / "truncated.pdf", b"%PDF-1.7\n"), ["cannot read this PDF"]),
        (lambda p: _pdf_without_text(p / "scan.pdf"), ["no extractable text"]),
        (lambda p: _encrypted_pdf(p / "locked.pdf"), ["the PDF is encrypted"]),
        (lambda p: Path("/dev/null"), ["not a regular file"]),
    ],
    ids=["missing", "folder", "empty", "blank", "binary", "latin-1", "no-words", "broken-pdf", "truncated-pdf",
         "scanned-pdf", "encrypted-pdf", "device"],
)
def test_s_unusable_report_files(tmp_path, make, parts):
    root = tmp_path / "root"
    env = {"KZQA_INDEX_DIR": str(root), "NO_COLOR": "1"}
    target = make(tmp_path)
    r = run(["index", str(target), "--name", "other"], env)
    assert r.exit_code == 1, r.output
    assert r.stdout == ""
    assert_one_line_error(r.stderr, *parts)
    assert not root.exists() or not list(root.iterdir())  # nothing made


def test_s_folder_errors_name_each_file_once(tmp_path):
    """Item 27 of issue 20: a folder's file that cannot be read was named twice
    ("folder/bin.txt: folder/bin.txt: looks like a binary file"); one that the message does not
    name is still named."""
    folder = tmp_path / "folder"
    folder.mkdir()
    _file(folder / "bin.txt", bytes(range(256)) * 8)
    _file(folder / "empty.md", b"")
    _file(folder / "digits.txt", b"123 456\n")
    env = {"KZQA_INDEX_DIR": str(tmp_path / "root"), "NO_COLOR": "1"}
    r = run(["index", str(folder)], env)
    assert r.exit_code == 1 and r.stdout == ""
    errors = sorted(line for line in r.stderr.splitlines() if line.startswith("kzqa: error: "))
    assert len(errors) == 3, r.stderr
    for line, name in zip(errors, ["bin.txt", "digits.txt", "empty.md"]):
        assert line.startswith(f"kzqa: error: {folder / name}: ") and line.count(name) == 1, line


def test_s_a_file_name_that_is_not_utf8_is_indexed_and_listed(index_dir, tmp_path):
    """Item 15 of issue 20: a report file named `caf\\xe9-\\xff.md` failed with "internal error:
    UnicodeEncodeError" after the embedding, and stopped `kzqa index FOLDER`. Its name is shown
    with U+FFFD; the manifest keeps the real path, so the index is found up to date again."""
    import json
    import os

    from faulthelpers import link_index

    root, folder = tmp_path / "root", tmp_path / "folder"
    link_index(index_dir, root)  # the encoder files: no export
    folder.mkdir()
    text = "Notes on the courts.\n\nThe court heard {} cases about prisoners.  Each was decided within a month.\n"
    with open(os.fsencode(folder) + b"/caf\xe9-\xff.md", "w", encoding="utf-8") as f:
        f.write(text.format(41))
    (folder / "plain.md").write_text(text.format(17), encoding="utf-8")
    env = {"KZQA_INDEX_DIR": str(root), "NO_COLOR": "1"}
    r = run(["index", str(folder)], env)
    assert r.exit_code == 0, r.output
    assert "built index 'caf'" in r.stdout and "built index 'plain'" in r.stdout
    rows = {row["name"]: row for row in json.loads(run(["list", "--json"], env).stdout)}
    assert rows["caf"]["status"] == "ok" and rows["caf"]["source"].endswith("/caf\ufffd-\ufffd.md")
    assert "caf\ufffd-\ufffd.md" in run(["list"], env).stdout
    answer = json.loads(run(["ask", "how many cases did the court hear", "--report", "caf", "--json"], env).stdout)
    assert "41 cases" in answer["answer"]["sentence"]
    again = run(["index", str(folder)], env)
    assert again.exit_code == 0 and again.stdout.count("is up to date") == 2, again.output
