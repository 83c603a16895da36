"""The skops materializer: contracts, trusted types, metadata, plugin loading."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from zen_sklearn import SklearnMaterializer, json_safe

from zen_core import load_artifact, save_artifact
from zen_core.errors import ConfigError, UnsafeArtifactError
from zen_core.materializers import get_registry
from zen_core.plugins import list_plugins, new_plugin_manager
from zen_core.testing import MaterializerContract, modules_imported_at_startup

X = np.random.RandomState(0).rand(40, 3)
Y = X @ np.array([1.0, 2.0, 3.0]) + 0.5
LABELS = (Y > Y.mean()).astype(int)


def _same_model(loaded, value):
    assert type(loaded) is type(value)
    assert loaded.get_params(deep=False).keys() == value.get_params(deep=False).keys()
    np.testing.assert_array_equal(loaded.predict(X), value.predict(X))


class TestLinearRegression(MaterializerContract):
    materializer = SklearnMaterializer

    @pytest.fixture
    def value(self):
        return LinearRegression().fit(X, Y)

    def assert_same(self, loaded, value):
        _same_model(loaded, value)
        np.testing.assert_array_equal(loaded.coef_, value.coef_)


class TestPipeline(MaterializerContract):
    materializer = SklearnMaterializer

    @pytest.fixture
    def value(self):
        return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=0.5))]).fit(
            X, LABELS)

    def assert_same(self, loaded, value):
        _same_model(loaded, value)
        assert [name for name, _ in loaded.steps] == ["scale", "clf"]
        np.testing.assert_array_equal(loaded.predict_proba(X), value.predict_proba(X))


class TestUnfittedEstimator(MaterializerContract):
    materializer = SklearnMaterializer

    @pytest.fixture
    def value(self):
        return LogisticRegression(C=2.0, max_iter=50)

    def assert_same(self, loaded, value):
        assert type(loaded) is LogisticRegression
        assert loaded.get_params() == value.get_params()


def test_estimators_resolve_to_the_skops_materializer():
    registry = get_registry()
    assert registry.for_type(LinearRegression) is SklearnMaterializer
    assert registry.for_type(Pipeline) is SklearnMaterializer


def test_saved_artifact_is_a_model_with_class_and_parameters():
    av = save_artifact(LinearRegression(fit_intercept=False).fit(X, Y), "linear")
    assert av.artifact_type == "model"
    assert av.materializer.endswith("SklearnMaterializer")
    assert av.metadata["class"] == "sklearn.linear_model._base.LinearRegression"
    assert av.metadata["parameters"]["fit_intercept"] is False
    assert av.metadata["fitted"] is True
    assert av.metadata["n_features_in"] == 3
    json.dumps(av.metadata)
    [(uri, kind)] = av.visualize().items()
    assert kind == "html" and uri.endswith("estimator.html")


def test_parameters_are_made_json_safe():
    params = Pipeline([("scale", StandardScaler())]).get_params(deep=False)
    safe = json_safe(params)
    json.dumps(safe)
    assert safe["steps"] == [["scale", {"class": "sklearn.preprocessing._data.StandardScaler"}]]
    assert json_safe(np.float32(1.5)) == 1.5
    assert json_safe(np.log1p) == "numpy.log1p"


def test_untrusted_types_are_refused_naming_them_and_the_config():
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, LABELS)
    save_artifact(forest, "forest")
    with pytest.raises(UnsafeArtifactError) as info:
        load_artifact("forest")
    message = str(info.value)
    assert "'forest'" in message
    assert "sklearn.tree._tree.Tree" in message
    assert "[plugins.sklearn]" in message
    assert 'trusted_types = ["sklearn.tree._tree.Tree"]' in message
    assert info.value.untrusted_types == ["sklearn.tree._tree.Tree"]


def test_trusted_types_config_allows_them(zen_home):
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, LABELS)
    save_artifact(forest, "forest")
    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text(
        '[plugins.sklearn]\ntrusted_types = ["sklearn.tree._tree.Tree"]\n')
    loaded = load_artifact("forest")
    np.testing.assert_array_equal(loaded.predict(X), forest.predict(X))


def test_trusted_types_in_a_project_zen_toml(tmp_path):
    save_artifact(RandomForestClassifier(n_estimators=2, random_state=0).fit(X, LABELS), "f")
    (tmp_path / "work" / "zen.toml").write_text(
        '[plugins.sklearn]\ntrusted_types = ["sklearn.tree._tree.Tree"]\n')
    assert isinstance(load_artifact("f"), RandomForestClassifier)


@pytest.mark.parametrize("bad, shown", [('"sklearn.tree._tree.Tree"', "'sklearn.tree._tree.Tree'"),
                                        ("[1, 2]", "[1, 2]")])
def test_bad_trusted_types_config_is_a_clear_error(zen_home, bad, shown):
    save_artifact(RandomForestClassifier(n_estimators=2, random_state=0).fit(X, LABELS), "f")
    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text(f"[plugins.sklearn]\ntrusted_types = {bad}\n")
    with pytest.raises(ConfigError) as info:
        load_artifact("f")
    message = str(info.value)
    assert "config.toml" in message and "plugins.sklearn" in message
    assert "trusted_types" in message and shown in message
    assert ("TOML array" in message or "expected a list" in message
            or "expected a string, got int 1" in message)  # [1, 2]: a list, of the wrong items


def test_unknown_key_in_plugin_table_is_refused(zen_home):
    save_artifact(LinearRegression().fit(X, Y), "m")
    zen_home.mkdir(parents=True, exist_ok=True)
    (zen_home / "config.toml").write_text('[plugins.sklearn]\ntrusted = ["x"]\n')
    with pytest.raises(ConfigError, match=r"plugins\.sklearn.*'trusted'.*trusted_types"):
        load_artifact("m")


def test_config_section_is_declared():
    pm = new_plugin_manager()
    sections = {}
    for result in pm.hook.zen_config_sections():
        sections.update(result or {})
    from zen_sklearn import SklearnConfig

    assert sections["sklearn"] is SklearnConfig


def test_entry_point_is_listed():
    [info] = [p for p in list_plugins(new_plugin_manager()) if p.name == "sklearn"]
    assert info.distribution == "zen-sklearn" and info.error is None
    assert info.provides == {"materializers": ["SklearnMaterializer"],
                             "config_sections": ["plugins.sklearn"]}


def test_loading_plugins_does_not_import_sklearn():
    assert modules_imported_at_startup(["sklearn", "skops", "scipy"]) == []
