"""Materializers for torch tensors, state dicts and modules.

This module must stay importable without torch: the plugin manager builds
the registry (and ``zen plugins list`` lists it) without loading torch.
Types are claimed by name and torch is imported inside the methods.

Formats, safest first:

- ``*.safetensors`` (streamed, see :mod:`zen_torch._safetensors`) for dense
  tensors of the dtypes safetensors knows;
- ``*.pt`` written with ``torch.save`` and read with
  ``torch.load(weights_only=True)`` for what safetensors cannot say (complex
  or sparse tensors, state-dict entries that are not tensors);
- ``module.pkl`` (a full ``torch.save`` of a module) only when the module's
  class cannot be rebuilt and pickle is allowed; loaded only while
  ``allow_pickle`` is true.
"""

from __future__ import annotations

import io
import json
import weakref
from typing import Any

from zen_core.errors import ConfigError, MaterializerError, UnsafeArtifactError
from zen_core.materializers import (
    ArtifactType,
    ContainerMaterializer,
    Materializer,
    VisualizationType,
    qualified_name,
)

_TENSOR_FILE = "tensor.safetensors"
_TENSOR_PT = "tensor.pt"
_STATE_FILE = "state_dict.safetensors"
_STATE_PT = "state_dict.pt"  # entries safetensors cannot express
_MODULE_INFO = "module.json"
_MODULE_PKL = "module.pkl"
_MODULE_REPR = "module.md"
_KEY = "tensor"


# -- tensors ----------------------------------------------------------------------------------


class TensorMaterializer(Materializer):
    """``torch.Tensor`` (and ``nn.Parameter``): safetensors, or weights-only ``torch.save``."""

    ASSOCIATED_TYPES = ("torch.Tensor",)
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.DATA
    VERSION = "1"

    def save(self, data: Any) -> None:
        from zen_torch import _safetensors

        meta = {"device": str(data.device), "requires_grad": str(bool(data.requires_grad))}
        if _safetensors.expressible(data):
            with self.open(_TENSOR_FILE, "wb") as f:
                _safetensors.write(f, {_KEY: data}, meta)
        else:
            _torch_save(self, _TENSOR_PT, {_KEY: data.detach().cpu(), "meta": meta})

    def load(self, data_type: type) -> Any:
        import torch

        from zen_torch import _safetensors

        if self.exists(_TENSOR_PT):
            stored = _torch_load(self, _TENSOR_PT)
            tensor, meta = stored[_KEY], stored.get("meta", {})
        else:
            with self.open(_TENSOR_FILE, "rb") as f:
                tensors, meta = _safetensors.read(f)
            tensor = tensors[_KEY]
        tensor = _to_device(self, tensor)
        if isinstance(data_type, type) and issubclass(data_type, torch.nn.Parameter):
            return torch.nn.Parameter(tensor, requires_grad=meta.get("requires_grad") == "True")
        return tensor

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        return {"shape": list(data.shape), "dtype": _dtype_name(data.dtype),
                "device": str(data.device), "numel": int(data.numel()),
                "requires_grad": bool(data.requires_grad)}


# -- state dicts ------------------------------------------------------------------------------


class StateDictMaterializer(ContainerMaterializer):
    """``OrderedDict`` (what ``module.state_dict()`` returns): tensors via safetensors.

    A dict whose values are all tensors safetensors can hold is one
    ``.safetensors`` file; other entries (optimizer steps, nested dicts,
    complex tensors) go to a ``torch.save`` file read back with
    ``weights_only=True``. An ``OrderedDict`` without any tensor is stored as
    tagged JSON exactly like the built-in container materializer. For a plain
    ``dict`` of tensors, pass ``output_materializers=StateDictMaterializer``.
    """

    ASSOCIATED_TYPES = ("collections.OrderedDict",)
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.DATA
    VERSION = "1"

    def save(self, data: Any) -> None:
        if not _holds_tensors(data):
            return super().save(data)  # plain OrderedDict: JSON as usual
        write_state_dict(self, data, {"container": _container_name(type(data))})

    def load(self, data_type: type) -> Any:
        if not (self.exists(_STATE_FILE) or self.exists(_STATE_PT)):
            return super().load(data_type)
        state, meta = read_state_dict(self)
        container = _container_type(meta.get("container"), data_type)
        return state if type(state) is container else container(state)

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        if not _holds_tensors(data):
            return super().extract_metadata(data)
        return _state_summary(data)


def write_state_dict(mat: Materializer, state: Any, meta: dict[str, str]) -> None:
    """Dense tensors to ``state_dict.safetensors``; anything else to a weights-only ``.pt``."""
    from zen_torch import _safetensors

    dense = {k: v for k, v in state.items() if isinstance(k, str) and _safetensors.expressible(v)}
    rest = {k: v for k, v in state.items() if k not in dense or not isinstance(k, str)}
    order = list(state.keys())
    meta = {**meta, "keys": json.dumps([k for k in order if k in dense])}
    if rest:
        meta["order"] = "pt"
    with mat.open(_STATE_FILE, "wb") as f:
        _safetensors.write(f, dense, meta)
    if rest:
        _torch_save(mat, _STATE_PT, {"entries": rest, "order": order})


def read_state_dict(mat: Materializer) -> tuple[dict[str, Any], dict[str, str]]:
    """The state dict written by :func:`write_state_dict` (on the configured device)."""
    from collections import OrderedDict

    from zen_torch import _safetensors

    with mat.open(_STATE_FILE, "rb") as f:
        dense, meta = _safetensors.read(f)
    order = json.loads(meta.get("keys", "[]"))
    rest: dict[Any, Any] = {}
    if mat.exists(_STATE_PT):
        stored = _torch_load(mat, _STATE_PT)
        rest, order = stored["entries"], stored["order"]
    device = _device(mat)
    state: dict[Any, Any] = OrderedDict()
    for key in order:
        value = dense[key] if key in dense else rest[key]
        state[key] = _move(value, device)
    return state, meta


# -- modules ----------------------------------------------------------------------------------


class ModuleMaterializer(Materializer):
    """``torch.nn.Module``: its class path plus its state dict (safetensors).

    Loading rebuilds the module with a registered factory
    (:func:`zen_torch.register_module_factory` or ``[plugins.torch]
    module_factories``) or, failing that, by calling the class without
    arguments, then loads the state dict into it. Modules that cannot be
    rebuilt that way are also pickled whole, but only when pickle is allowed,
    and that copy is read only while it still is.
    """

    ASSOCIATED_TYPES = ("torch.nn.Module",)
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.MODEL
    NEEDS_RECORDED_TYPE = False  # the module's class is named in its own stored files
    VERSION = "1"

    def save(self, data: Any) -> None:
        from zen_torch import _find_factory

        cls = type(data)
        info = {"class": qualified_name(cls), "training": bool(data.training)}
        _saved_classes[info["class"]] = cls
        if _find_factory(cls) is None and not _builds_without_arguments(cls):
            if self.allow_pickle:
                from zen_core.materializers import PickleMaterializer

                PickleMaterializer.warn_or_refuse(cls, True, context="a module whose class "
                                                  "needs constructor arguments")
                _torch_save(self, _MODULE_PKL, data)
                info["pickled"] = True
        with self.open(_MODULE_INFO, "wb") as f:
            f.write(json.dumps(info, sort_keys=True).encode())
        write_state_dict(self, data.state_dict(), {"module": info["class"]})

    def load(self, data_type: type) -> Any:
        from zen_core.materializers import import_object
        from zen_torch import _find_factory

        with self.open(_MODULE_INFO, "rb") as f:
            info = json.loads(f.read())
        class_path = info["class"]
        cls = _known_class(class_path, data_type)
        if cls is None:
            cls = import_object(class_path, what="module class")
        factory = _find_factory(cls)
        if factory is not None:
            module = factory()
        else:
            module = self._build(cls, class_path, bool(info.get("pickled")))
            if module is None:
                return self._unpickle()
        state, _ = read_state_dict(self)
        module.load_state_dict(state)
        module.to(_device(self))
        module.train(bool(info.get("training", False)))
        return module

    def _build(self, cls: type, class_path: str, pickled: bool) -> Any:
        try:
            return cls()
        except TypeError as exc:
            if pickled and self.allow_pickle:
                return None
            error = UnsafeArtifactError if pickled else MaterializerError
            short = cls.__name__
            pickle_note = (" The artifact also holds a pickled copy, which allow_pickle = false "
                           "forbids loading; set allow_pickle = true if you trust this store."
                           if pickled else "")
            raise error(
                f"cannot rebuild the module of artifact {self._label}: {class_path}() cannot be "
                f"called without arguments ({exc}). Fix: register a factory before loading, "
                f"e.g. zen_torch.register_module_factory({short}, lambda: {short}(...)), or in "
                f"the config [plugins.torch] module_factories = {{\"{class_path}\" = "
                f"\"package.module:make_{short.lower()}\"}}.{pickle_note}",
                uri=self.uri, module_class=class_path,
            ) from exc

    def _unpickle(self) -> Any:
        import torch

        with self.open(_MODULE_PKL, "rb") as f:
            module = torch.load(f, weights_only=False, map_location=_device(self))
        return module

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        params = list(data.parameters())
        dtypes = sorted({_dtype_name(p.dtype) for p in params})
        devices = sorted({str(p.device) for p in params})
        return {"class": qualified_name(type(data)),
                "parameter_count": int(sum(p.numel() for p in params)),
                "trainable_parameter_count": int(sum(p.numel() for p in params if p.requires_grad)),
                "dtypes": dtypes, "devices": devices, "training": bool(data.training)}

    def save_visualizations(self, data: Any) -> dict[str, str]:
        text = f"### {qualified_name(type(data))}\n\n```\n{data!r}\n```\n"
        with self.open(_MODULE_REPR, "wb") as f:
            f.write(text.encode())
        return {self.path(_MODULE_REPR): VisualizationType.MARKDOWN}


# -- helpers ----------------------------------------------------------------------------------

# Module classes saved by this process: a class defined in a notebook or an exec'd script
# loads back in the same process even where its module cannot be imported by name.
_saved_classes: weakref.WeakValueDictionary[str, type] = weakref.WeakValueDictionary()


def _known_class(class_path: str, data_type: Any) -> type | None:
    if isinstance(data_type, type) and qualified_name(data_type) == class_path:
        return data_type
    return _saved_classes.get(class_path)



def _builds_without_arguments(cls: type) -> bool:
    import inspect

    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return True  # cannot tell: try at load time
    return all(p.default is not inspect.Parameter.empty or
               p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in sig.parameters.values())


def _holds_tensors(value: Any, depth: int = 0) -> bool:
    import sys

    torch = sys.modules.get("torch")
    if torch is None or depth > 8:  # no tensor can exist before torch is imported
        return False
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, dict):
        return any(_holds_tensors(v, depth + 1) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_tensors(v, depth + 1) for v in value)
    return False


def _state_summary(state: Any) -> dict[str, Any]:
    import torch

    tensors = [v for v in state.values() if isinstance(v, torch.Tensor)]
    return {"entries": len(state), "tensors": len(tensors),
            "numel": int(sum(t.numel() for t in tensors)),
            "bytes": int(sum(t.numel() * t.element_size() for t in tensors)),
            "dtypes": sorted({_dtype_name(t.dtype) for t in tensors}),
            "devices": sorted({str(t.device) for t in tensors})}


def _container_name(t: type) -> str:
    return qualified_name(t)


def _container_type(name: str | None, data_type: Any) -> type:
    from collections import OrderedDict

    if isinstance(data_type, type) and issubclass(data_type, dict) and data_type not in (
            dict, object):
        return data_type
    return dict if name == "builtins.dict" else OrderedDict


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def _torch_save(mat: Materializer, rel: str, obj: Any) -> None:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with mat.open(rel, "wb") as f:
        f.write(buffer.getbuffer())


def _torch_load(mat: Materializer, rel: str) -> Any:
    import torch

    with mat.open(rel, "rb") as f:
        data = io.BytesIO(f.read())
    return torch.load(data, weights_only=True, map_location="cpu")


def _device(mat: Materializer) -> Any:
    """The device loads go to: ``[plugins.torch] map_location`` (default ``cpu``)."""
    import torch

    from zen_torch import plugin_config

    location = plugin_config().map_location
    try:
        device = torch.device(location)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(
            f"[plugins.torch] map_location = {location!r} is not a torch device ({exc}). "
            f"Fix: use a device such as \"cpu\" (the default), \"cuda\", \"cuda:1\" or \"mps\".",
            key_path="plugins.torch.map_location", value=location,
        ) from exc
    _check_available(mat, device, location)
    return device


def _to_device(mat: Materializer, tensor: Any) -> Any:
    return _move(tensor, _device(mat))


def _check_available(mat: Materializer, device: Any, location: str) -> None:
    import torch

    if device.type == "cpu":
        return
    module = getattr(torch, device.type, None)
    available = getattr(module, "is_available", lambda: False)()
    if not available or (device.index is not None and device.index >= module.device_count()):
        raise MaterializerError(
            f"cannot load artifact {mat._label} onto device {str(device)!r} "
            f"([plugins.torch] map_location = {location!r}): that device is not available "
            f"in this process. Fix: set map_location = \"cpu\" (the default), or load where "
            f"the device exists.",
            uri=mat.uri, device=str(device),
        )


def _move(value: Any, device: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value if value.device == device else value.to(device)
    if isinstance(value, dict):
        return type(value)((k, _move(v, device)) for k, v in value.items())
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        return type(value)(_move(v, device) for v in value)
    return value
