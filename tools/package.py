"""Build the deploy archive (main.py, shared/, requirements.txt) reproducibly, byte for byte."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import zipfile
from pathlib import Path

# Fixed metadata: the same files always give the same bytes, whoever builds them and when.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
SKIPPED_DIRS = frozenset({"__pycache__"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def archive_entries(root: Path) -> list[tuple[str, Path]]:
    """The (name in archive, file on disk) pairs to pack, sorted by name.

    Raises FileNotFoundError when functions/main.py, shared/ or requirements.txt is missing.
    """
    main = root / "functions" / "main.py"
    requirements = root / "requirements.txt"
    package = root / "shared"
    for required in (main, requirements, package):
        if not required.exists():
            raise FileNotFoundError(f"{required} is missing: it belongs in the deploy archive")
    entries = [("main.py", main), ("requirements.txt", requirements)]
    for directory, subdirs, files in os.walk(package):
        # Hidden and cache folders are never part of the package; pruning here skips their walk.
        subdirs[:] = [d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        for name in files:
            if name.startswith(".") or name.endswith(SKIPPED_SUFFIXES):
                continue
            path = Path(directory) / name
            entries.append((path.relative_to(root).as_posix(), path))
    return sorted(entries)


def build_archive(root: Path, output: Path) -> str:
    """Write the archive to `output` and return its sha256 hex digest.

    Entries are stored uncompressed, so the bytes do not depend on the zlib version either.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, path in archive_entries(root):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = 3  # unix, so external_attr carries the mode below
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, path.read_bytes())
    partial.replace(output)
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    # sha256sum's format, so `sha256sum -c` can check the archive.
    output.with_name(output.name + ".sha256").write_text(f"{digest}  {output.name}\n")
    return digest


def main(argv: list[str] | None = None) -> int:
    """Command line: build the archive and print its sha256 and path."""
    parser = argparse.ArgumentParser(description=__doc__)
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--root", type=Path, default=root, help="repository root")
    parser.add_argument(
        "--output", type=Path, default=root / ".build" / "source.zip", help="archive to write"
    )
    args = parser.parse_args(argv)
    try:
        digest = build_archive(args.root, args.output)
    except FileNotFoundError as error:
        print(f"package: {error}", file=sys.stderr)
        return 1
    print(f"{digest}  {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
