"""The contract every materializer passes: round trip, integrity, confinement, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zen_core.artifact_stores.base import ArtifactStore
from zen_core.artifacts.data import StoredData, load_data, save_data
from zen_core.errors import ArtifactDataMissingError, IntegrityError, MaterializerError
from zen_core.materializers.base import Materializer
from zen_core.materializers.registry import MaterializerRegistry


def local_store(path: Path) -> ArtifactStore:
    from zen_core.artifact_stores.local import LocalArtifactStore, LocalArtifactStoreConfig

    return LocalArtifactStore(LocalArtifactStoreConfig(str(path)))


# -- materializers --------------------------------------------------------------------------


class MaterializerContract:
    """Round trip, integrity, confinement and error wrapping for one materializer.

    Provide ``materializer`` (the class) and a ``value`` fixture; override
    ``assert_same`` where ``==`` is not the right comparison, and
    ``artifact_store`` to run against another store.
    """

    materializer: type[Materializer]
    allow_pickle: bool = False

    @pytest.fixture
    def artifact_store(self, tmp_path: Path) -> ArtifactStore:
        return local_store(tmp_path / "store")

    def assert_same(self, loaded: Any, value: Any) -> None:
        assert type(loaded) is type(value)
        assert loaded == value

    def _registry(self) -> MaterializerRegistry:
        return MaterializerRegistry([("contract", self.materializer)])

    def _save(self, store: ArtifactStore, value: Any) -> StoredData:
        return save_data(store, self.materializer, value, allow_pickle=self.allow_pickle,
                         label="'contract'")

    def _load(self, store: ArtifactStore, stored: StoredData, data_type: Any = None) -> Any:
        return load_data(store, self._registry(), uri=stored.uri,
                         materializer=stored.materializer, type_path=stored.type,
                         files=stored.files, allow_pickle=self.allow_pickle,
                         label="'contract'", data_type=data_type)

    def test_claims_its_types(self) -> None:
        assert self.materializer.ASSOCIATED_TYPES, "ASSOCIATED_TYPES must name the types handled"

    def test_round_trip(self, artifact_store: ArtifactStore, value: Any) -> None:
        stored = self._save(artifact_store, value)
        self.assert_same(self._load(artifact_store, stored, type(value)), value)

    def test_same_content_same_hash(self, artifact_store: ArtifactStore, value: Any) -> None:
        first = self._save(artifact_store, value)
        second = self._save(artifact_store, value)
        assert first.content_hash == second.content_hash
        assert first.uri == second.uri  # stored once

    def test_writes_stay_under_uri(self, artifact_store: ArtifactStore, value: Any) -> None:
        stored = self._save(artifact_store, value)
        files = artifact_store.list_files(artifact_store.path)
        outside = [f for f in files if not artifact_store.join(f).startswith(stored.uri + "/")]
        assert outside == [], f"{self.materializer.__name__} wrote outside its uri: {outside}"
        assert set(stored.files) == set(artifact_store.list_files(stored.uri))

    def test_metadata_is_json(self, artifact_store: ArtifactStore, value: Any) -> None:
        stored = self._save(artifact_store, value)
        json.dumps(stored.metadata)

    def test_visualizations_are_stored_with_the_data(self, artifact_store: ArtifactStore,
                                                     value: Any) -> None:
        stored = self._save(artifact_store, value)
        for uri, kind in stored.visualizations.items():
            assert uri.startswith(stored.uri + "/")
            assert kind in ("html", "markdown", "csv", "image", "json")
            assert artifact_store.exists(uri)

    def test_corruption_is_detected(self, artifact_store: ArtifactStore, value: Any) -> None:
        stored = self._save(artifact_store, value)
        shown = {uri[len(stored.uri) + 1 :] for uri in stored.visualizations}
        # visualizations are only displayed, never loaded: corrupt a file load() reads
        data_files = {r: s for r, (s, _) in stored.files.items() if s > 0 and r not in shown}
        if not data_files:
            pytest.skip("the artifact has no bytes to corrupt")
        rel = max(data_files, key=lambda r: data_files[r])
        uri = f"{stored.uri}/{rel}"
        with artifact_store.open(uri, "rb") as f:
            content = bytearray(f.read())
        content[len(content) // 2] ^= 0xFF
        with artifact_store.open(uri, "wb") as f:
            f.write(bytes(content))
        with pytest.raises((IntegrityError, MaterializerError)) as info:
            self._load(artifact_store, stored, type(value))
        if isinstance(info.value, IntegrityError):
            assert rel in str(info.value)

    def test_missing_data_names_the_artifact(self, artifact_store: ArtifactStore,
                                             value: Any) -> None:
        stored = self._save(artifact_store, value)
        artifact_store.delete(stored.uri)
        with pytest.raises((ArtifactDataMissingError, MaterializerError)) as info:
            self._load(artifact_store, stored, type(value))
        assert "'contract'" in str(info.value)

    def test_failing_save_leaves_nothing(self, artifact_store: ArtifactStore, value: Any) -> None:
        class Exploding(self.materializer):  # type: ignore[name-defined, misc]
            def extract_metadata(self, data: Any) -> dict[str, Any]:
                raise RuntimeError("boom")

        with pytest.raises(MaterializerError, match="'contract'.*boom"):
            save_data(artifact_store, Exploding, value, allow_pickle=self.allow_pickle,
                      label="'contract'")
        assert artifact_store.list_files(artifact_store.path) == {}
