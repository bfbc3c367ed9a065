"""A Keras convnet rebuilt weight for weight in PyTorch, for benchmarks against PyTorch tools (the
authors' AutoAttack): the Keras model's graph walked in order, each layer replaced by the PyTorch
operations that compute the same thing. It takes NCHW images, as PyTorch tools pass them, and
keeps Keras's semantics where they differ: TensorFlow's "same" padding (the extra pixel at the
bottom and right), channels-last flattening before a dense layer.

Layers it knows: Conv2D, Dense, ZeroPadding2D, MaxPooling2D / AveragePooling2D ("valid"),
BatchNormalization (inference), ReLU, Activation, Add, Flatten, GlobalAveragePooling2D, Dropout,
Softmax, and ResNet's SubsampleShortcut. Anything else is refused by name.

    twin = TorchTwin(keras_model)      # twin(torch.from_numpy(x.transpose(0, 3, 1, 2)))
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import torch
import torch.nn.functional as F

ACTIVATIONS = {"relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda v: v}


class TorchTwin(torch.nn.Module):
    """The PyTorch model computing what `model` (a Functional or Sequential Keras model) computes."""

    def __init__(self, model: keras.Model):
        super().__init__()
        self.steps: list[tuple[list[int], int, Callable]] = []
        graph = model._functional if isinstance(model, keras.Sequential) else model  # a Sequential's graph
        for operation in graph.operations:
            node = operation._inbound_nodes[0]
            if isinstance(operation, keras.layers.InputLayer):
                continue
            inputs, (output,) = [id(t) for t in node.input_tensors], node.output_tensors
            self.steps.append((inputs, id(output), self._convert(operation)))
        self.input_id, self.output_id = id(graph.inputs[0]), id(graph.outputs[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {self.input_id: x}
        for inputs, output, fn in self.steps:
            values[output] = fn(*(values[i] for i in inputs))
        return values[self.output_id]

    def _tensor(self, value: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(value, np.float32))

    def _convert(self, layer) -> Callable:
        config = layer.get_config()
        if isinstance(layer, keras.layers.Conv2D):
            return self._conv(layer, config)
        if isinstance(layer, keras.layers.Dense):
            kernel, *bias = layer.get_weights()
            w, b = self._tensor(kernel), self._tensor(bias[0]) if bias else None
            act = ACTIVATIONS[config["activation"]]
            return lambda v: act(v @ w + b if b is not None else v @ w)
        if isinstance(layer, keras.layers.BatchNormalization):
            return self._batch_norm(layer, config)
        if isinstance(layer, keras.layers.ZeroPadding2D):
            (top, bottom), (left, right) = config["padding"]
            return lambda v: F.pad(v, (left, right, top, bottom))
        if isinstance(layer, keras.layers.MaxPooling2D | keras.layers.AveragePooling2D):
            if config["padding"] != "valid":
                raise ValueError(f"{layer.name}: only 'valid' pooling is rebuilt")
            pool = F.max_pool2d if isinstance(layer, keras.layers.MaxPooling2D) else F.avg_pool2d
            return lambda v: pool(v, config["pool_size"], config["strides"])
        return self._simple(layer, config)

    def _simple(self, layer, config: dict) -> Callable:
        if isinstance(layer, keras.layers.ReLU):
            if config.get("max_value") is not None or config.get("negative_slope") or config.get("threshold"):
                raise ValueError(f"{layer.name}: only the plain ReLU is rebuilt")
            return F.relu
        if isinstance(layer, keras.layers.Activation):
            return ACTIVATIONS[config["activation"]]
        if isinstance(layer, keras.layers.Softmax):
            return lambda v: torch.softmax(v, dim=-1)
        if isinstance(layer, keras.layers.Add):
            return lambda *vs: sum(vs[1:], vs[0])
        if isinstance(layer, keras.layers.Flatten):
            return lambda v: v.permute(0, 2, 3, 1).flatten(1)  # Keras flattens channels last
        if isinstance(layer, keras.layers.GlobalAveragePooling2D):
            return lambda v: v.mean(dim=(2, 3))
        if isinstance(layer, keras.layers.Dropout):
            return lambda v: v
        if type(layer).__name__ == "SubsampleShortcut":
            s, filters = config["strides"], config["filters"]

            def shortcut(v):
                extra = filters - v.shape[1]
                return F.pad(v[:, :, ::s, ::s], (0, 0, 0, 0, extra // 2, extra - extra // 2))

            return shortcut
        raise ValueError(f"{layer.name}: {type(layer).__name__} has no PyTorch twin here")

    def _conv(self, layer, config: dict) -> Callable:
        if tuple(config["dilation_rate"]) != (1, 1) or config.get("groups", 1) != 1:
            raise ValueError(f"{layer.name}: only undilated, ungrouped convolutions are rebuilt")
        kernel, *bias = layer.get_weights()
        w = self._tensor(kernel.transpose(3, 2, 0, 1))  # HWIO -> OIHW
        b = self._tensor(bias[0]) if bias else None
        (kh, kw), (sh, sw), act = config["kernel_size"], config["strides"], ACTIVATIONS[config["activation"]]

        def conv(v):
            if config["padding"] == "same":  # TensorFlow's: the odd pixel goes at the bottom and right
                ph = max((-(-v.shape[2] // sh) - 1) * sh + kh - v.shape[2], 0)
                pw = max((-(-v.shape[3] // sw) - 1) * sw + kw - v.shape[3], 0)
                v = F.pad(v, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
            return act(F.conv2d(v, w, b, stride=(sh, sw)))

        return conv

    def _batch_norm(self, layer, config: dict) -> Callable:
        if config["axis"] not in (-1, 3, [3], [-1]):
            raise ValueError(f"{layer.name}: only channels-last batch norm is rebuilt")
        weights = dict(zip([w.path.split("/")[-1] for w in layer.weights], layer.get_weights(), strict=True))
        scale = weights.get("gamma", np.ones_like(weights["moving_mean"])) / np.sqrt(
            weights["moving_variance"] + config["epsilon"]
        )
        shift = weights.get("beta", np.zeros_like(scale)) - weights["moving_mean"] * scale
        a, c = self._tensor(scale)[None, :, None, None], self._tensor(shift)[None, :, None, None]
        return lambda v: v * a + c
