"""The generated deploy docs are current, and the deploy archive is reproducible byte for byte."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from tests.terraform.invariants import ROOT, TERRAFORM_DIR
from tools import tf_docs
from tools.package import FILE_MODE, ZIP_EPOCH, archive_entries, build_archive


def test_module_readme_tables_match_the_terraform_module() -> None:
    document = (TERRAFORM_DIR / "README.md").read_text()
    assert tf_docs.replace_section(document, tf_docs.render(TERRAFORM_DIR)) == document


def test_doc_check_notices_a_new_variable(tmp_path: Path) -> None:
    module = tmp_path / "terraform"
    module.mkdir()
    for path in TERRAFORM_DIR.glob("*.tf"):
        (module / path.name).write_text(path.read_text())
    (module / "extra.tf").write_text(
        'variable "brand_new" {\n  type        = string\n  description = "New."\n}\n'
    )
    document = tmp_path / "README.md"
    document.write_text((TERRAFORM_DIR / "README.md").read_text())
    assert tf_docs.main(["--terraform", str(module), "--doc", str(document), "--check"]) == 1


def _fake_repository(root: Path) -> None:
    (root / "functions").mkdir(parents=True)
    (root / "functions" / "main.py").write_text("def ingest(request): ...\n")
    (root / "requirements.txt").write_text("requests==2.34.2\n")
    (root / "shared" / "hits").mkdir(parents=True)
    (root / "shared" / "__init__.py").write_text("")
    (root / "shared" / "hits" / "ua.py").write_text("X = 1\n")
    (root / "shared" / "__pycache__").mkdir()
    (root / "shared" / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"\0")
    (root / "shared" / ".DS_Store").write_bytes(b"\0")


def test_archive_holds_main_shared_and_requirements_only(tmp_path: Path) -> None:
    _fake_repository(tmp_path)
    names = [name for name, _ in archive_entries(tmp_path)]
    assert names == ["main.py", "requirements.txt", "shared/__init__.py", "shared/hits/ua.py"]


def test_archive_is_identical_whenever_and_however_it_is_built(tmp_path: Path) -> None:
    _fake_repository(tmp_path)
    first = build_archive(tmp_path, tmp_path / "a" / "source.zip")
    # Different mtimes and permissions on disk must not change a byte.
    for path in (tmp_path / "shared").rglob("*.py"):
        path.chmod(0o600)
        path.touch()
    second = build_archive(tmp_path, tmp_path / "b" / "source.zip")
    assert first == second
    assert (tmp_path / "a" / "source.zip").read_bytes() == (
        tmp_path / "b" / "source.zip"
    ).read_bytes()


def test_archive_entries_have_fixed_time_and_mode(tmp_path: Path) -> None:
    _fake_repository(tmp_path)
    digest = build_archive(tmp_path, tmp_path / "source.zip")
    with zipfile.ZipFile(tmp_path / "source.zip") as archive:
        infos = archive.infolist()
        assert archive.read("main.py") == b"def ingest(request): ...\n"
    assert {(i.date_time, i.external_attr >> 16) for i in infos} == {(ZIP_EPOCH, FILE_MODE)}
    assert digest == hashlib.sha256((tmp_path / "source.zip").read_bytes()).hexdigest()
    assert (tmp_path / "source.zip.sha256").read_text() == f"{digest}  source.zip\n"


def test_changed_code_changes_the_hash(tmp_path: Path) -> None:
    _fake_repository(tmp_path)
    before = build_archive(tmp_path, tmp_path / "source.zip")
    (tmp_path / "shared" / "hits" / "ua.py").write_text("X = 2\n")
    assert build_archive(tmp_path, tmp_path / "source.zip") != before


def test_missing_entry_point_is_an_error(tmp_path: Path) -> None:
    _fake_repository(tmp_path)
    (tmp_path / "functions" / "main.py").unlink()
    with pytest.raises(FileNotFoundError, match=r"main\.py"):
        archive_entries(tmp_path)


def test_repository_packages_reproducibly(tmp_path: Path) -> None:
    first = build_archive(ROOT, tmp_path / "one.zip")
    assert build_archive(ROOT, tmp_path / "two.zip") == first
