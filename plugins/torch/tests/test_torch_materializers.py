"""Tensors, state dicts and modules: contracts, formats, devices, factories, errors."""

from __future__ import annotations

import collections
import json
from typing import Annotated

import pytest
import safetensors.torch
import torch
import zen_torch
from torch import nn
from zen_torch.materializers import ModuleMaterializer, StateDictMaterializer, TensorMaterializer

from zen_core import load_artifact, pipeline, save_artifact, step
from zen_core.artifacts import save_data
from zen_core.errors import ConfigError, MaterializerError, UnsafeArtifactError
from zen_core.materializers import get_registry
from zen_core.plugins import list_plugins, new_plugin_manager
from zen_core.testing import MaterializerContract, local_store, modules_imported_at_startup


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 2)
        self.register_buffer("scale", torch.tensor([1.5, 2.5]))

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x))) * self.scale


class WideNet(nn.Module):
    """Needs a constructor argument: cannot be rebuilt without a factory."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc = nn.Linear(3, width)


def _seeded(make):
    torch.manual_seed(0)
    return make()


DTYPE_VALUES = {
    "float32": lambda: torch.randn(3, 4),
    "float64": lambda: torch.randn(2, 2, 2, dtype=torch.float64),
    "float16": lambda: torch.randn(5, dtype=torch.float16),
    "bfloat16": lambda: torch.randn(4, 3).to(torch.bfloat16),
    "int64": lambda: torch.arange(10),
    "int8": lambda: torch.tensor([-3, 0, 7], dtype=torch.int8),
    "uint8": lambda: torch.tensor([[0, 255]], dtype=torch.uint8),
    "bool": lambda: torch.tensor([True, False, True]),
    "float8": lambda: torch.randn(6).to(torch.float8_e4m3fn),
    "scalar": lambda: torch.tensor(3.25),
    "empty": lambda: torch.empty(0, 3),
    "non_contiguous": lambda: torch.randn(4, 6).t(),
    "complex64": lambda: torch.randn(3, dtype=torch.complex64),  # torch.save, weights-only
    "sparse": lambda: torch.eye(3).to_sparse(),  # torch.save, weights-only
}


def _tensor_equal(loaded, value):
    assert type(loaded) is type(value)
    assert loaded.dtype == value.dtype and loaded.shape == value.shape
    assert loaded.device.type == "cpu"
    a, b = loaded, value
    if value.is_sparse:
        a, b = a.to_dense(), b.to_dense()
    if value.dtype == torch.float8_e4m3fn:
        a, b = a.view(torch.uint8), b.view(torch.uint8)
    assert torch.equal(a, b)


class TestTensors(MaterializerContract):
    materializer = TensorMaterializer

    @pytest.fixture(params=sorted(DTYPE_VALUES))
    def value(self, request):
        return _seeded(DTYPE_VALUES[request.param])

    def assert_same(self, loaded, value):
        _tensor_equal(loaded, value)


class TestParameter(MaterializerContract):
    materializer = TensorMaterializer

    @pytest.fixture
    def value(self):
        return nn.Parameter(_seeded(lambda: torch.randn(2, 3)))

    def assert_same(self, loaded, value):
        assert isinstance(loaded, nn.Parameter) and loaded.requires_grad
        assert torch.equal(loaded.detach(), value.detach())


class TestStateDict(MaterializerContract):
    materializer = StateDictMaterializer

    @pytest.fixture
    def value(self):
        return _seeded(TinyNet).state_dict()

    def assert_same(self, loaded, value):
        assert type(loaded) is collections.OrderedDict
        assert list(loaded) == list(value)
        for key in value:
            assert torch.equal(loaded[key], value[key])


class TestMixedStateDict(MaterializerContract):
    """An optimizer-style dict: tensors next to numbers and nested entries."""

    materializer = StateDictMaterializer

    @pytest.fixture
    def value(self):
        return collections.OrderedDict(
            [("weight", torch.ones(2, 2)), ("step", 7), ("lr", 0.01),
             ("nested", {"momentum": torch.zeros(3)}), ("z", torch.randn(2, dtype=torch.complex64))])

    def assert_same(self, loaded, value):
        assert list(loaded) == list(value)
        assert torch.equal(loaded["weight"], value["weight"])
        assert loaded["step"] == 7 and loaded["lr"] == 0.01
        assert torch.equal(loaded["nested"]["momentum"], value["nested"]["momentum"])
        assert torch.equal(loaded["z"], value["z"])


class TestPlainOrderedDict(MaterializerContract):
    """Without tensors an OrderedDict is JSON, as with the built-in materializer."""

    materializer = StateDictMaterializer

    @pytest.fixture
    def value(self):
        return collections.OrderedDict([("b", 1), ("a", [1, 2])])


class TestModule(MaterializerContract):
    materializer = ModuleMaterializer

    @pytest.fixture
    def value(self):
        return _seeded(TinyNet).eval()

    def assert_same(self, loaded, value):
        assert type(loaded) is TinyNet
        assert loaded.training is False
        x = torch.randn(3, 4)
        assert torch.equal(loaded(x), value(x))


def test_types_resolve_to_the_torch_materializers():
    registry = get_registry()
    assert registry.for_type(torch.Tensor) is TensorMaterializer
    assert registry.for_type(nn.Parameter) is TensorMaterializer
    assert registry.for_type(TinyNet) is ModuleMaterializer
    assert registry.for_type(collections.OrderedDict) is StateDictMaterializer


def test_files_are_real_safetensors(tmp_path):
    store = local_store(tmp_path / "store")
    value = _seeded(TinyNet).state_dict()
    stored = save_data(store, StateDictMaterializer, value, allow_pickle=False, label="'sd'")
    assert set(stored.files) == {"state_dict.safetensors"}  # no pickle anywhere
    with store.open(f"{stored.uri}/state_dict.safetensors", "rb") as f:
        by_library = safetensors.torch.load(f.read())
    assert set(by_library) == set(value)
    for key in value:
        assert torch.equal(by_library[key], value[key])
    # and files the library writes read back through ours
    from zen_torch import _safetensors

    path = tmp_path / "lib.safetensors"
    safetensors.torch.save_file({"x": torch.arange(6.0).reshape(2, 3)}, str(path))
    with open(path, "rb") as f:
        tensors, _ = _safetensors.read(f)
    assert torch.equal(tensors["x"], torch.arange(6.0).reshape(2, 3))


def test_tensor_metadata():
    av = save_artifact(torch.zeros(2, 3, dtype=torch.float16, requires_grad=False), "t")
    assert av.metadata == {"shape": [2, 3], "dtype": "float16", "device": "cpu", "numel": 6,
                           "requires_grad": False}
    assert av.artifact_type == "data"
    assert torch.equal(load_artifact("t"), torch.zeros(2, 3, dtype=torch.float16))


def test_module_metadata_and_visualization():
    av = save_artifact(_seeded(TinyNet), "net")
    assert av.artifact_type == "model"
    assert av.metadata["class"].endswith("TinyNet")
    assert av.metadata["parameter_count"] == 4 * 8 + 8 + 8 * 2 + 2
    assert av.metadata["trainable_parameter_count"] == av.metadata["parameter_count"]
    assert av.metadata["dtypes"] == ["float32"]
    json.dumps(av.metadata)
    [(uri, kind)] = av.visualize().items()
    assert kind == "markdown" and uri.endswith("module.md")


def test_module_keeps_training_mode():
    save_artifact(_seeded(TinyNet).train(), "net")
    assert load_artifact("net").training is True


def test_module_without_default_constructor_explains_factories():
    save_artifact(WideNet(5), "wide")  # allow_pickle defaults to true: a pickled copy is kept
    _write_config("allow_pickle = false\n")
    with pytest.raises(UnsafeArtifactError) as info:
        load_artifact("wide")
    message = str(info.value)
    assert "'wide'" in message and "WideNet" in message and "width" in message
    assert "zen_torch.register_module_factory(WideNet, lambda: WideNet(...))" in message
    assert "[plugins.torch] module_factories" in message
    assert "allow_pickle = true" in message


def test_module_saved_without_pickle_needs_a_factory():
    _write_config("allow_pickle = false\n")
    av = save_artifact(WideNet(5), "wide")
    assert set(av.files) == {"module.json", "state_dict.safetensors", "module.md"}
    with pytest.raises(MaterializerError, match=r"WideNet\(\) cannot be called without arguments"):
        load_artifact("wide")
    zen_torch.register_module_factory(WideNet, lambda: WideNet(5))
    try:
        loaded = load_artifact("wide")
    finally:
        zen_torch.unregister_module_factory(WideNet)
    assert isinstance(loaded, WideNet) and loaded.fc.out_features == 5


def test_pickled_module_loads_when_pickle_is_allowed():
    net = WideNet(4)
    av = save_artifact(net, "wide")
    assert "module.pkl" in av.files
    loaded = load_artifact("wide")
    assert torch.equal(loaded.fc.weight, net.fc.weight)


def make_wide_net():
    return WideNet(3)


def test_module_factory_from_config():
    _write_config("allow_pickle = false\n")
    save_artifact(WideNet(3), "wide")
    _write_config(f'allow_pickle = false\n[plugins.torch]\nmodule_factories = '
                  f'{{"{WideNet.__module__}.WideNet" = "{__name__}:make_wide_net"}}\n')
    assert load_artifact("wide").fc.out_features == 3


def test_bad_module_factory_config_is_a_clear_error():
    _write_config("allow_pickle = false\n")
    save_artifact(WideNet(3), "wide")
    _write_config(f'[plugins.torch]\nmodule_factories = '
                  f'{{"{WideNet.__module__}.WideNet" = "no_such_module:make"}}\n')
    with pytest.raises(ConfigError, match=r"module_factories.*'no_such_module:make'.*cannot be "
                                          r"imported.*package\.module:function"):
        load_artifact("wide")


def test_register_module_factory_refuses_non_callables():
    with pytest.raises(TypeError, match="must be callable"):
        zen_torch.register_module_factory(WideNet, "not callable")


def test_map_location_config():
    save_artifact(torch.ones(2), "t")
    _write_config('[plugins.torch]\nmap_location = "cpu"\n')
    assert load_artifact("t").device.type == "cpu"
    _write_config('[plugins.torch]\nmap_location = "warp-drive"\n')
    with pytest.raises(ConfigError, match=r"map_location = 'warp-drive' is not a torch device"):
        load_artifact("t")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_unavailable_device_is_a_clear_error():
    save_artifact(torch.ones(2), "t")
    _write_config('[plugins.torch]\nmap_location = "cuda:0"\n')
    with pytest.raises(MaterializerError, match=r"'t'.*'cuda:0'.*not available.*map_location = "
                                                r"\"cpu\""):
        load_artifact("t")


def test_unknown_torch_config_key_is_refused():
    save_artifact(torch.ones(2), "t")
    _write_config('[plugins.torch]\nmap_locaton = "cpu"\n')
    with pytest.raises(ConfigError, match=r"plugins\.torch.*'map_locaton'.*map_location"):
        load_artifact("t")


@step
def train() -> Annotated[TinyNet, "tiny_net"]:
    net = _seeded(TinyNet)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        net(torch.ones(2, 4)).sum().backward()
        opt.step()
    return net.eval()


@step
def weights(net: TinyNet):
    return net.state_dict()


@step
def embed(net: TinyNet) -> torch.Tensor:
    return net(torch.ones(1, 4)).detach()


@pipeline
def torch_pipeline():
    net = train()
    weights(net)
    embed(net)


def test_pipeline_with_modules_state_dicts_and_tensors():
    run = torch_pipeline()
    assert run.status == "completed"
    net_av = run.steps["train"].outputs["tiny_net"]
    sd_av = run.steps["weights"].outputs["output"]
    assert net_av.materializer == "zen_torch.materializers.ModuleMaterializer"
    assert sd_av.materializer == "zen_torch.materializers.StateDictMaterializer"
    net = net_av.load()
    assert torch.equal(run.steps["embed"].outputs["output"].load(), net(torch.ones(1, 4)))
    for key, value in sd_av.load().items():
        assert torch.equal(value, net.state_dict()[key])
    assert torch_pipeline().steps["train"].status == "cached"


def test_dict_of_tensors_with_explicit_materializer():
    @step(output_materializers=StateDictMaterializer)
    def plain() -> dict:
        return {"w": torch.ones(2)}

    @pipeline
    def plain_pipeline():
        plain()

    av = plain_pipeline().steps["plain"].outputs["output"]
    assert set(av.files) == {"state_dict.safetensors"}
    loaded = av.load()
    assert type(loaded) is dict and torch.equal(loaded["w"], torch.ones(2))


def test_entry_point_is_listed():
    [info] = [p for p in list_plugins(new_plugin_manager()) if p.name == "torch"]
    assert info.distribution == "zen-torch" and info.error is None
    assert info.provides == {"materializers": ["TensorMaterializer", "StateDictMaterializer",
                                               "ModuleMaterializer"],
                             "config_sections": ["plugins.torch"]}


def test_config_section_is_declared():
    sections = {}
    for result in new_plugin_manager().hook.zen_config_sections():
        sections.update(result or {})
    assert sections["torch"] is zen_torch.TorchConfig


def test_loading_plugins_does_not_import_torch():
    assert modules_imported_at_startup(["torch", "safetensors", "numpy"],
                                       also_import=("zen_torch.checkpoints",)) == []


def _write_config(text: str) -> None:
    from zen_core.config import zen_home

    home = zen_home()
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)


def test_module_class_defined_outside_an_importable_module_loads_in_the_same_process():
    # a notebook or an exec'd script: the class's module cannot be imported by name
    namespace = {"__name__": "not_an_importable_module", "nn": nn}
    exec("class ScriptNet(nn.Module):\n"
         "    def __init__(self):\n"
         "        super().__init__()\n"
         "        self.fc = nn.Linear(2, 2)\n", namespace)
    net = namespace["ScriptNet"]()
    save_artifact(net, "script_net")
    loaded = load_artifact("script_net")
    assert type(loaded) is namespace["ScriptNet"]
    assert torch.equal(loaded.fc.weight, net.fc.weight)
