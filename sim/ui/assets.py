"""The browser UI's JavaScript and CSS, kept in solara's local asset cache so the page works offline.

Solara asks a CDN for these files unless they sit in its cache folder
(``<venv>/share/solara/cdn/<package>@<version>/``): with no internet the page is blank. The files
come from the package registries: the PyPI package ``solara-assets`` fills most of the cache, and
``npm pack`` fetches what it lacks (the ``vega@5``-style folders the Altair views ask for, katex).
The versions are read from the installed solara, so an upgrade that moves one is noticed.
Nothing here imports solara: ``tierlab ui`` checks the cache without starting a server.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

SOLARA_ASSETS = "solara-assets"
IPYWIDGETS_MAJOR = "8"


@dataclass(frozen=True)
class Asset:
    """One npm package folder in the cache and the files in it the page loads."""

    package: str
    version: str
    files: tuple[str, ...]

    @property
    def folder(self) -> str:
        return f"{self.package}@{self.version}"

    def missing(self, cache: Path) -> list[str]:
        """The files of this asset not in ``cache``."""
        return [f"{self.folder}/{name}" for name in self.files if not (cache / self.folder / name).is_file()]


def cache_dir() -> Path:
    """Solara's asset cache: $SOLARA_ASSETS_PROXY_CACHE_DIR, else <sys.prefix>/share/solara/cdn."""
    configured = os.environ.get("SOLARA_ASSETS_PROXY_CACHE_DIR")
    return Path(configured) if configured else Path(sys.prefix) / "share" / "solara" / "cdn"


def _solara_root() -> Path:
    spec = importlib.util.find_spec("solara")
    if spec is None or spec.origin is None:
        raise RuntimeError("solara is not installed in this Python environment")
    return Path(spec.origin).parent


VEGA = {"vega": "5", "vega-lite": "5", "vega-embed": "6"}
"""The vega packages the UI's charts load (sim/ui_vega.py), by the version folder they ask for."""


def _version(text: str, package: str, where: Path) -> str:
    found = re.search(re.escape(package) + r"@([0-9][^/\"'`\s]*)/", text)
    if found is None:
        raise RuntimeError(f"{where}: no {package}@<version> found; solara changed how it loads assets")
    return found.group(1)


def required_assets(solara_root: Path | None = None) -> list[Asset]:
    """Every asset a tierlab page loads: solara's own in the versions the installed solara asks for,
    and the vega packages of ``VEGA``."""
    root = solara_root if solara_root is not None else _solara_root()
    template = root / "server" / "templates" / "solara.html.j2"
    markdown = root / "components" / "markdown.py"
    settings = root / "server" / "settings.py"
    page, katex, config = (p.read_text() for p in (template, markdown, settings))
    app = f"solara-vuetify-app{IPYWIDGETS_MAJOR}"
    return [
        Asset("@widgetti/solara-vuetify-app", _version(page, "@widgetti/solara-vuetify-app", template),
              (f"dist/{app}.min.js", f"dist/{app}.js", f"dist/main{IPYWIDGETS_MAJOR}.css", "dist/fonts.css")),
        Asset("requirejs", _version(page, "requirejs", template), ("require.js",)),
        Asset("font-awesome", _version(config, "font-awesome", settings), ("css/font-awesome.min.css",)),
        *(Asset(package, version, (f"build/{package}.min.js",)) for package, version in VEGA.items()),
        Asset("katex", _version(katex, "katex", markdown),
              ("dist/katex.min.js", "dist/katex.min.css", "dist/contrib/auto-render.min.js")),
    ]


def missing_assets(cache: Path | None = None, assets: list[Asset] | None = None) -> list[str]:
    """Files the page needs that are not in the cache (empty when the UI works offline)."""
    cache = cache if cache is not None else cache_dir()
    assets = assets if assets is not None else required_assets()
    return [name for asset in assets for name in asset.missing(cache)]


def npm_pack(asset: Asset, cache: Path) -> None:
    """Fetch ``package@version`` from the npm registry with ``npm pack`` and unpack it into the cache.

    The folder appears whole or not at all: it is unpacked beside its place and renamed into it.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm not found: it fetches {asset.folder}; install Node.js and npm "
                           "(Debian: apt-get install nodejs npm)")
    target = cache / asset.folder
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".unpack-") as work:
        done = subprocess.run([npm, "pack", f"{asset.package}@{asset.version}", "--json", "--silent"],
                              cwd=work, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"npm pack {asset.folder} failed: {done.stderr.strip() or done.stdout.strip()}")
        tarball = Path(work) / json.loads(done.stdout)[0]["filename"]
        with tarfile.open(tarball) as archive:
            archive.extractall(work, filter="data")
        if target.exists():
            shutil.rmtree(target)
        os.replace(Path(work) / "package", target)


def pip_install_solara_assets() -> None:
    """Install the ``solara-assets`` package (PyPI) into this environment, which fills the cache."""
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           SOLARA_ASSETS], check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pip install {SOLARA_ASSETS} failed (exit {done.returncode})")


def install(cache: Path | None = None, log=print) -> list[str]:
    """Put every missing asset into the cache; returns what was done (nothing when all are there)."""
    cache = cache if cache is not None else cache_dir()
    assets = required_assets()
    actions: list[str] = []
    if not missing_assets(cache, assets):
        return actions
    if importlib.util.find_spec("solara_assets") is None:
        log(f"installing {SOLARA_ASSETS} from PyPI into {sys.prefix}")
        pip_install_solara_assets()
        actions.append(f"pip install {SOLARA_ASSETS}")
    for asset in assets:
        if asset.missing(cache):
            log(f"fetching {asset.folder} with npm pack into {cache}")
            npm_pack(asset, cache)
            actions.append(f"npm pack {asset.folder}")
    still = missing_assets(cache, assets)
    if still:
        raise RuntimeError(f"still missing after the install: {', '.join(still)}")
    return actions


def main() -> int:
    """Install the UI assets; one line saying what was done, or one error line and exit 1."""
    try:
        cache = cache_dir()
        actions = install(cache)
    except RuntimeError as err:
        print(f"install_ui_assets: error: {err}", file=sys.stderr)
        return 1
    if actions:
        print(f"UI assets installed in {cache} ({'; '.join(actions)})")
    else:
        print(f"UI assets: all present in {cache}")
    return 0
