"""The artifact store behind MLflow's artifact proxy (``--serve-artifacts`` with a local
``--artifacts-destination``): files under one root directory, addressed by relative paths."""

import mimetypes
import os
import posixpath
import shutil

import validate
from errors import invalid, not_found

# MLflow sends these extensions (and MLmodel / MLproject) as text/plain
# lab/fault.sh mlflow-artifact-corrupted: while its marker exists, every download has its last byte flipped
CORRUPTED_MARKER = os.path.join(os.environ.get("MLV_LAB_ROOT", "/var/lib/mlops-lab"), "faults", "mlflow-artifact-corrupted")

TEXT_EXTENSIONS = set(
    "txt log err cfg conf cnf cf ini properties prop hocon toml yaml yml xml json js py py3 csv tsv md rst".split()
) | {"MLmodel", "MLproject"}


def mime_type(path):
    name = posixpath.basename(path)
    ext = os.path.splitext(name)[1].replace(".", "") or name
    if ext in TEXT_EXTENSIONS:
        return "text/plain"
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


class IsDirectory(Exception):
    """Downloading a directory: upstream fails opening it (an unhandled error, HTTP 500)."""


class Artifacts:
    def __init__(self, root):
        self.root = os.path.realpath(root)
        os.makedirs(self.root, exist_ok=True)

    def _local(self, path):
        full = os.path.join(self.root, os.path.normpath(path)) if path else self.root
        real = os.path.realpath(full)
        if real != self.root and not real.startswith(self.root + os.sep):
            raise invalid("Invalid path: resolved path is outside the artifact directory")
        return full

    def list(self, path):
        """-> [(relative path from the root, is_dir, size or None)] sorted by path"""
        local = self._local(path)
        if not os.path.isdir(local):
            return []
        out = []
        for name in os.listdir(local):
            full = os.path.join(local, name)
            rel = os.path.relpath(full, self.root).replace(os.sep, "/")
            if os.path.isdir(full):
                out.append((rel, True, None))
            else:
                out.append((rel, False, os.path.getsize(full)))
        return sorted(out)

    def upload(self, path, data):
        path = validate.safe_path(path)
        head, tail = posixpath.split(path)
        directory = self._local(head) if head else self.root
        os.makedirs(directory, exist_ok=True)
        target = os.path.join(directory, tail)
        self._local(posixpath.join(head, tail))
        tmp = target + ".uploading"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, target)

    def download(self, path):
        path = validate.safe_path(path)
        local = self._local(path)
        if os.path.isdir(local):
            raise IsDirectory(path)
        if not os.path.exists(local):
            raise not_found(
                "The following failures occurred while downloading one or more artifacts from "
                f"{self.root}:\n##### File {path} #####\nNo such artifact: '{path}'"
            )
        with open(local, "rb") as f:
            data = f.read()
        if data and os.path.exists(CORRUPTED_MARKER):
            data = data[:-1] + bytes([data[-1] ^ 0x01])
        return data

    def delete(self, path):
        path = validate.safe_path(path)
        local = self._local(path)
        if os.path.isfile(local):
            os.remove(local)
        elif os.path.isdir(local):
            shutil.rmtree(local)
