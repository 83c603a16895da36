"""The contract every materializer passes: round trip, integrity, confinement, errors,
and (opted into with ``golden_dir``) a stored format that changes only with ``VERSION``."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from zen_core.artifact_stores.base import ArtifactStore
from zen_core.artifacts.data import StoredData, load_data, save_data
from zen_core.errors import ArtifactDataMissingError, IntegrityError, MaterializerError
from zen_core.materializers.base import Materializer, qualified_name
from zen_core.materializers.registry import MaterializerRegistry


def local_store(path: Path) -> ArtifactStore:
    from zen_core.artifact_stores.local import LocalArtifactStore, LocalArtifactStoreConfig

    return LocalArtifactStore(LocalArtifactStoreConfig(str(path)))


UPDATE_GOLDEN = "ZEN_UPDATE_GOLDEN"  # =1: write golden files instead of checking them


def _golden_name(materializer: type[Materializer], request: Any) -> str:
    """``<module.Class>-v<VERSION>[-<value id>].json``, safe as a file name."""
    callspec = getattr(request.node, "callspec", None)
    case = f"-{callspec.id}" if callspec is not None else ""
    name = f"{qualified_name(materializer)}-v{materializer.VERSION}{case}"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".json"


# -- materializers --------------------------------------------------------------------------


class MaterializerContract:
    """Round trip, integrity, confinement and error wrapping for one materializer.

    Provide ``materializer`` (the class) and a ``value`` fixture; override
    ``assert_same`` where ``==`` is not the right comparison, and
    ``artifact_store`` to run against another store.

    Set ``golden_dir`` (a folder beside your tests) to pin the stored format: each
    value's data files (names, sizes, content hashes; not visualizations) must match
    a golden file named after the materializer, its ``VERSION`` and the value, so a
    format change without a ``VERSION`` bump fails. Write missing golden files with
    ``ZEN_UPDATE_GOLDEN=1 pytest ...`` and commit them.
    """

    materializer: type[Materializer]
    allow_pickle: bool = False
    golden_dir: Path | str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # the golden-file check is collected only where a golden_dir pins the format
        cls.test_stored_format_matches_the_golden_file = (
            None if cls.golden_dir is None
            else MaterializerContract.test_stored_format_matches_the_golden_file)

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
        by_shape = self.materializer.claims_type.__func__ is not Materializer.claims_type.__func__
        assert self.materializer.ASSOCIATED_TYPES or by_shape, (
            "ASSOCIATED_TYPES (or claims_type) must name the types handled")

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

    def test_stored_format_matches_the_golden_file(self, artifact_store: ArtifactStore,
                                                   value: Any, request: Any) -> None:
        stored = self._save(artifact_store, value)
        shown = {uri[len(stored.uri) + 1 :] for uri in stored.visualizations}
        found = {"materializer": qualified_name(self.materializer),
                 "version": str(self.materializer.VERSION),
                 "files": {rel: list(entry) for rel, entry in sorted(stored.files.items())
                           if rel not in shown}}
        path = Path(self.golden_dir) / _golden_name(self.materializer, request)
        if os.environ.get(UPDATE_GOLDEN) == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
            return
        if not path.exists():
            pytest.fail(f"no golden file {path} for {found['materializer']} VERSION "
                        f"{found['version']}: write it with `{UPDATE_GOLDEN}=1 pytest "
                        f"{request.node.nodeid}` and commit it")
        golden = json.loads(path.read_text())
        if golden["files"] != found["files"]:
            pytest.fail(
                f"{found['materializer']} stores this value differently than its golden file "
                f"{path} records for VERSION {found['version']}: {golden['files']} before, "
                f"{found['files']} now. A changed format needs a new VERSION (it enters the "
                f"cache key, so outputs in the old format are not reused). Fix: restore the "
                f"format, or bump VERSION, keep load() reading the old one, and write the new "
                f"golden file with `{UPDATE_GOLDEN}=1 pytest {request.node.nodeid}`")

    def test_failing_save_leaves_nothing(self, artifact_store: ArtifactStore, value: Any) -> None:
        class Exploding(self.materializer):  # type: ignore[name-defined, misc]
            def extract_metadata(self, data: Any) -> dict[str, Any]:
                raise RuntimeError("boom")

        with pytest.raises(MaterializerError, match="'contract'.*boom"):
            save_data(artifact_store, Exploding, value, allow_pickle=self.allow_pickle,
                      label="'contract'")
        assert artifact_store.list_files(artifact_store.path) == {}
