"""The contract every metadata store passes."""

from __future__ import annotations

import time
import uuid

import attrs
import pytest

from zen_core.artifacts.data import StoredData
from zen_core.errors import ArtifactVersionExistsError, RunNameTakenError
from zen_core.materializers.base import qualified_name
from zen_core.materializers.builtin import BytesMaterializer
from zen_core.metadata_stores.base import MetadataStore, NewArtifactVersion
from zen_core.records import ExecutionStatus, PipelineRun, StepRun


def stored_data(content: str = "x") -> StoredData:
    """A small StoredData for metadata-store tests (no real data behind it)."""
    return StoredData(uri=f"mem://{content}", content_hash=content.ljust(32, "0"), size=1,
                      files={"f": [1, "0"]}, materializer=qualified_name(BytesMaterializer),
                      materializer_version="1", type="builtins.bytes", artifact_type="data",
                      metadata={"k": 1}, visualizations={})


def _run(name: str = "p") -> PipelineRun:
    return PipelineRun(id=uuid.uuid4().hex, name=f"{name}-{uuid.uuid4().hex[:6]}",
                       pipeline_name=name, status=ExecutionStatus.RUNNING, created=time.time(),
                       finished=None, params={"a": 1}, error=None)


def _step(run: PipelineRun, name: str = "s", key: str | None = "k") -> StepRun:
    return StepRun(id=uuid.uuid4().hex, run_id=run.id, name=name, step_name=name,
                   pipeline_name=run.pipeline_name, status=ExecutionStatus.RUNNING, params={},
                   cache_key=key, cache_miss="no earlier run", started=time.time(), finished=None,
                   error=None, original_step_run_id=None)


class RunLeaseContract:
    """Crashed runs are found by their lease (mixed into MetadataStoreContract)."""

    def test_a_run_whose_lease_expired_is_reaped_with_its_running_steps(
            self, metadata_store: MetadataStore) -> None:
        from zen_core.metadata_stores.base import RunLease

        now = time.time()
        crashed, alive, finished = _run(), _run(), _run()
        metadata_store.create_run(crashed, RunLease("elsewhere", 123, 1.0, now - 1))
        metadata_store.create_run(alive, RunLease("elsewhere", 456, 1.0, now + 100))
        metadata_store.create_run(finished, RunLease("elsewhere", 789, 1.0, now - 1))
        metadata_store.finish_run(finished.id, ExecutionStatus.COMPLETED, now)
        step = _step(crashed)
        metadata_store.create_step_run(step, {})
        done = _step(crashed, "done", key="k2")
        metadata_store.create_step_run(done, {})
        metadata_store.complete_step_run(done.id, outputs=[], extra_inputs={}, finished=now)

        assert metadata_store.reap_runs(now, lambda lease: False, now - 120) == [crashed.id]
        run = metadata_store.get_run(crashed.id)
        assert run.status == "failed" and run.error.startswith("crashed: ")
        assert metadata_store.get_step_run(step.id).status == "failed"
        assert metadata_store.get_step_run(done.id).status == "completed"
        assert metadata_store.get_run(alive.id).status == "running"
        assert metadata_store.get_run(finished.id).status == "completed"
        assert metadata_store.reap_runs(now, lambda lease: False, now - 120) == []

    def test_renewing_keeps_a_run_alive_and_a_dead_owner_is_reaped(
            self, metadata_store: MetadataStore) -> None:
        from zen_core.metadata_stores.base import RunLease

        now = time.time()
        renewed, orphan, unleased = _run(), _run(), _run()
        metadata_store.create_run(renewed, RunLease("here", 1, 5.0, now + 1))
        metadata_store.create_run(orphan, RunLease("here", 2, 5.0, now + 100))
        metadata_store.create_run(unleased)
        metadata_store.renew_leases([renewed.id], now + 500)
        later = now + 50  # past the first lease, but it was renewed
        dead = lambda lease: lease.pid == 2  # noqa: E731
        reaped = metadata_store.reap_runs(later, dead, unleased_before=later + 1)
        assert sorted(reaped) == sorted([orphan.id, unleased.id])
        assert metadata_store.get_run(renewed.id).status == "running"
        assert "pid 2 on here" in metadata_store.get_run(orphan.id).error


class RunMetadataContract:
    """Run metadata and tags of runs, step runs and artifact versions (mixed into
    MetadataStoreContract)."""

    def test_run_metadata_keeps_types_and_later_values_win(
            self, metadata_store: MetadataStore) -> None:
        from zen_core.metadata.metadata_types import DType, Path, StorageSize, Uri
        from zen_core.metadata_stores.base import ResourceType

        run = _run()
        metadata_store.create_run(run)
        logged = {"source": Uri("s3://bucket/data.csv"), "script": Path("/src/prep.py"),
                  "columns": {"age": DType("int64"), "sizes": [StorageSize(10)]},
                  "size": StorageSize(2_500_000), "shape": (3, 4), "labels": {"a", "b"},
                  "accuracy": 0.93, "n": 7, "ok": True, "nothing": None, "inf": float("inf"),
                  "text": "plain"}
        metadata_store.add_run_metadata(ResourceType.PIPELINE_RUN, run.id, logged)
        metadata_store.add_run_metadata(ResourceType.PIPELINE_RUN, run.id,
                                        {"n": 8, "columns": {"score": DType("float")}})
        found = self.reopen(metadata_store).get_run_metadata(ResourceType.PIPELINE_RUN,
                                                             [run.id, "absent"])
        assert list(found) == [run.id]
        values = found[run.id]
        assert values == {**logged, "n": 8, "columns": {**logged["columns"],
                                                         "score": DType("float")}}
        for key in ("source", "script", "size", "shape", "labels"):
            assert type(values[key]) is type(logged[key]), key
        assert type(values["columns"]["age"]) is DType
        assert type(values["columns"]["sizes"][0]) is StorageSize

    def test_tags_attach_once_detach_and_filter_runs(self, metadata_store: MetadataStore) -> None:
        from zen_core.metadata_stores.base import ResourceType

        runs = [_run("tagged") for _ in range(3)]
        for run in runs:
            metadata_store.create_run(run)
            time.sleep(0.001)
        kind = ResourceType.PIPELINE_RUN
        metadata_store.add_tags(kind, runs[0].id, ["prod", "nightly"])
        metadata_store.add_tags(kind, runs[0].id, ["prod", "v2"])  # "prod" stays once
        metadata_store.add_tags(kind, runs[2].id, ["prod"])
        metadata_store.remove_tags(kind, runs[0].id, ["nightly", "never-there"])
        assert metadata_store.get_tags(kind, [r.id for r in runs]) == {
            runs[0].id: ["prod", "v2"], runs[2].id: ["prod"]}
        assert [r.id for r in metadata_store.list_runs(tags=["prod"])] == [runs[2].id,
                                                                          runs[0].id]
        assert [r.id for r in metadata_store.list_runs(tags=["prod", "v2"])] == [runs[0].id]
        assert [r.id for r in metadata_store.list_runs(tags=["prod"], limit=1, offset=1)] == [
            runs[0].id]
        assert metadata_store.count_runs(tags=["prod"]) == 2
        assert metadata_store.count_runs(pipeline_name="other", tags=["prod"]) == 0
        assert metadata_store.list_runs(tags=["nightly"]) == []

    def test_versions_are_recorded_with_their_tags_metadata_and_type(
            self, metadata_store: MetadataStore) -> None:
        from zen_core.metadata.metadata_types import Uri
        from zen_core.metadata_stores.base import ResourceType

        run = _run()
        metadata_store.create_run(run)
        step = _step(run)
        metadata_store.create_step_run(step, {})
        [out] = metadata_store.complete_step_run(step.id, outputs=[("output", NewArtifactVersion(
            "model", stored_data("m"), tags=["prod"], run_metadata={"where": Uri("s3://m")},
            artifact_type="model", producer_step_run_id=step.id, run_id=run.id))],
            extra_inputs={}, finished=time.time())
        saved = metadata_store.create_artifact_version(NewArtifactVersion(
            "model", stored_data("s"), tags=["dev"], run_metadata={"n": 1}, origin="saved"))
        plain = metadata_store.create_artifact_version(NewArtifactVersion("model",
                                                                          stored_data("p")))
        kind = ResourceType.ARTIFACT_VERSION
        ids = [out.id, saved.id, plain.id]
        assert metadata_store.get_tags(kind, ids) == {out.id: ["prod"], saved.id: ["dev"]}
        assert metadata_store.get_run_metadata(kind, ids) == {
            out.id: {"where": Uri("s3://m")}, saved.id: {"n": 1}}
        assert metadata_store.get_artifact_version_by_id(out.id).artifact_type == "model"
        assert metadata_store.get_artifact_version_by_id(plain.id).artifact_type == "data"
        metadata_store.add_tags(kind, plain.id, ["prod"])
        assert [v.id for v in metadata_store.list_artifact_versions(tags=["prod"])] == [
            out.id, plain.id]
        assert [v.id for v in metadata_store.list_artifact_versions("model", tags=["prod"],
                                                                    offset=1)] == [plain.id]
        assert metadata_store.list_artifact_versions("other", tags=["prod"]) == []

    def test_deleting_takes_metadata_and_tags_along(self, metadata_store: MetadataStore) -> None:
        from zen_core.metadata_stores.base import ResourceType

        run = _run()
        metadata_store.create_run(run)
        step = _step(run)
        metadata_store.create_step_run(step, {})
        av = metadata_store.create_artifact_version(NewArtifactVersion(
            "d", stored_data(), tags=["t"], run_metadata={"k": 1}))
        metadata_store.add_run_metadata(ResourceType.PIPELINE_RUN, run.id, {"k": 1})
        metadata_store.add_tags(ResourceType.PIPELINE_RUN, run.id, ["t"])
        metadata_store.add_run_metadata(ResourceType.STEP_RUN, step.id, {"k": 1})
        metadata_store.delete_run(run.id)
        metadata_store.delete_artifact_versions([av.id])
        for kind, rid in ((ResourceType.PIPELINE_RUN, run.id), (ResourceType.STEP_RUN, step.id),
                          (ResourceType.ARTIFACT_VERSION, av.id)):
            assert metadata_store.get_run_metadata(kind, [rid]) == {}
            assert metadata_store.get_tags(kind, [rid]) == {}

    def test_unreferenced_external_versions_are_prunable(
            self, metadata_store: MetadataStore) -> None:
        run = _run()
        metadata_store.create_run(run)
        external = metadata_store.create_artifact_version(NewArtifactVersion(
            "external::p::s::x", stored_data(), origin="external"))
        step = _step(run)
        metadata_store.create_step_run(step, {"x": external.id})
        assert metadata_store.unreferenced_artifact_versions() == []
        metadata_store.delete_run(run.id)
        assert [v.id for v in metadata_store.unreferenced_artifact_versions()] == [external.id]


class MetadataStoreContract(RunLeaseContract, RunMetadataContract):
    """Semantics every metadata store shares. Provide a ``metadata_store`` fixture
    (empty, freshly migrated). Override :meth:`reopen` when a second instance built from
    the same config would not see the same records (the default builds one)."""

    def reopen(self, metadata_store: MetadataStore) -> MetadataStore:
        """Another instance (for SQL stores another connection) on the same records."""
        return type(metadata_store)(metadata_store.config)

    def test_runs(self, metadata_store: MetadataStore) -> None:
        run = _run()
        metadata_store.create_run(run)
        assert metadata_store.get_run(run.id).name == run.name
        assert metadata_store.get_run(run.name).id == run.id
        metadata_store.finish_run(run.id, ExecutionStatus.COMPLETED, time.time())
        assert metadata_store.get_run(run.id).status == "completed"
        assert [r.id for r in metadata_store.list_runs(pipeline_name="p")] == [run.id]
        assert metadata_store.count_runs(status="completed") == 1
        metadata_store.delete_run(run.id)
        assert metadata_store.get_run(run.id) is None

    def test_a_taken_run_name_is_refused_and_records_nothing(
            self, metadata_store: MetadataStore) -> None:
        first = _run()
        metadata_store.create_run(first)
        twin = attrs.evolve(first, id=uuid.uuid4().hex)
        with pytest.raises(RunNameTakenError, match=repr(first.name)):
            metadata_store.create_run(twin)
        assert metadata_store.get_run(twin.id) is None
        assert metadata_store.count_runs() == 1
        metadata_store.create_run(attrs.evolve(twin, name=first.name + "-2"))  # still usable
        assert metadata_store.get_run(first.name + "-2").id == twin.id

    def test_versions_count_up_per_name(self, metadata_store: MetadataStore) -> None:
        versions = [metadata_store.create_artifact_version(NewArtifactVersion("a", stored_data(str(i))))
                    for i in range(3)]
        assert [v.version for v in versions] == ["1", "2", "3"]
        other = metadata_store.create_artifact_version(NewArtifactVersion("b", stored_data()))
        assert other.version == "1"
        assert metadata_store.get_artifact_version("a").id == versions[-1].id
        assert metadata_store.get_artifact_version("a", "2").id == versions[1].id

    def test_pinned_versions(self, metadata_store: MetadataStore) -> None:
        metadata_store.create_artifact_version(NewArtifactVersion("m", stored_data(), version="1.0"))
        assert metadata_store.create_artifact_version(NewArtifactVersion("m", stored_data())).version == "1"
        metadata_store.create_artifact_version(NewArtifactVersion("m", stored_data(), version="7"))
        assert metadata_store.create_artifact_version(NewArtifactVersion("m", stored_data())).version == "8"
        with pytest.raises(ArtifactVersionExistsError, match=r"'m'.*'1.0'"):
            metadata_store.create_artifact_version(NewArtifactVersion("m", stored_data(), version="1.0"))
        assert metadata_store.version_taken("m", "1.0")
        # the refused insert used no number
        assert metadata_store.create_artifact_version(NewArtifactVersion("m", stored_data())).version == "9"

    def test_latest_is_most_recent_not_highest(self, metadata_store: MetadataStore) -> None:
        metadata_store.create_artifact_version(NewArtifactVersion("l", stored_data(), version="9"))
        metadata_store.create_artifact_version(NewArtifactVersion("l", stored_data(), version="2.0"))
        assert metadata_store.get_artifact_version("l").version == "2.0"

    def test_step_lifecycle_and_lineage(self, metadata_store: MetadataStore) -> None:
        run = _run()
        metadata_store.create_run(run)
        producer = _step(run, "make")
        metadata_store.create_step_run(producer, {}, {"code": "c"})
        [av] = metadata_store.complete_step_run(
            producer.id, outputs=[("output", NewArtifactVersion(
                "data", stored_data(), producer_step_run_id=producer.id, run_id=run.id))],
            extra_inputs={}, finished=time.time())
        consumer = _step(run, "use", key="k2")
        metadata_store.create_step_run(consumer, {"df": av.id})
        metadata_store.fail_step_run(consumer.id, "Traceback ...", time.time())
        assert metadata_store.get_step_run(consumer.id).status == "failed"
        assert [s.id for s in metadata_store.consumers(av.id)] == [consumer.id]
        inputs, outputs = metadata_store.step_io(consumer.id)
        assert inputs["df"].id == av.id and outputs == {}
        assert metadata_store.step_io(producer.id)[1]["output"].id == av.id
        assert [s.name for s in metadata_store.list_step_runs(run.id)] == ["make", "use"]
        [hit] = metadata_store.find_cache_candidates("k")
        assert hit.id == producer.id
        previous = metadata_store.previous_step_run("p", "make")
        assert previous is not None and previous[1] == {"code": "c"}

    def test_cached_step_runs_keep_versions_referenced(self, metadata_store: MetadataStore) -> None:
        first, second = _run(), _run()
        for r in (first, second):
            metadata_store.create_run(r)
        producer = _step(first)
        metadata_store.create_step_run(producer, {})
        [av] = metadata_store.complete_step_run(
            producer.id, outputs=[("output", NewArtifactVersion(
                "d", stored_data(), producer_step_run_id=producer.id, run_id=first.id))],
            extra_inputs={}, finished=time.time())
        cached = _step(second)
        cached.status = ExecutionStatus.CACHED
        metadata_store.create_step_run(cached, {}, outputs={"output": av.id})
        metadata_store.delete_run(first.id)
        assert metadata_store.unreferenced_artifact_versions() == []
        metadata_store.delete_run(second.id)
        assert [v.id for v in metadata_store.unreferenced_artifact_versions()] == [av.id]

    def test_saved_versions_are_never_unreferenced(self, metadata_store: MetadataStore) -> None:
        metadata_store.create_artifact_version(NewArtifactVersion("s", stored_data(), origin="saved"))
        assert metadata_store.unreferenced_artifact_versions() == []

    def test_external_versions_are_unreferenced_once_no_run_consumes_them(
            self, metadata_store: MetadataStore) -> None:
        given = metadata_store.create_artifact_version(
            NewArtifactVersion("train::df", stored_data(), origin="external"))
        run = _run()
        metadata_store.create_run(run)
        metadata_store.create_step_run(_step(run), {"df": given.id})
        assert metadata_store.unreferenced_artifact_versions() == []
        metadata_store.delete_run(run.id)
        assert [v.id for v in metadata_store.unreferenced_artifact_versions()] == [given.id]

    def test_find_a_version_by_its_content(self, metadata_store: MetadataStore) -> None:
        first = metadata_store.create_artifact_version(NewArtifactVersion("c", stored_data("a")))
        metadata_store.create_artifact_version(NewArtifactVersion("c", stored_data("b")))
        metadata_store.create_artifact_version(NewArtifactVersion("other", stored_data("c")))
        found = metadata_store.find_artifact_version("c", stored_data("a").content_hash)
        assert found is not None and found.id == first.id and found.version == "1"
        assert metadata_store.find_artifact_version("c", stored_data("c").content_hash) is None
        assert metadata_store.find_artifact_version("nope", stored_data("a").content_hash) is None

    def test_delete_versions_and_hash_counts(self, metadata_store: MetadataStore) -> None:
        a = metadata_store.create_artifact_version(NewArtifactVersion("h", stored_data("same")))
        metadata_store.create_artifact_version(NewArtifactVersion("h2", stored_data("same")))
        h = stored_data("same").content_hash
        assert metadata_store.content_hash_counts([h, "f" * 32]) == {h: 2}
        metadata_store.delete_artifact_versions([a.id])
        assert metadata_store.content_hash_counts([h]) == {h: 1}
        assert metadata_store.get_artifact_version_by_id(a.id) is None

    def test_hidden_versions_are_seen_by_no_read_until_shown_again(
            self, metadata_store: MetadataStore) -> None:
        """Prune hides versions before deleting their data (a killed prune must not leave
        visible versions without data); numbers and counts still include them."""
        run = _run()
        metadata_store.create_run(run)
        producer = _step(run, "make")
        metadata_store.create_step_run(producer, {})
        first, second = metadata_store.complete_step_run(producer.id, outputs=[
            ("a", NewArtifactVersion("t", stored_data("one"), producer_step_run_id=producer.id,
                                     run_id=run.id)),
            ("b", NewArtifactVersion("t", stored_data("two"), producer_step_run_id=producer.id,
                                     run_id=run.id))], extra_inputs={}, finished=time.time())
        metadata_store.delete_run(run.id)
        metadata_store.hide_artifact_versions([second.id])

        assert metadata_store.get_artifact_version("t").id == first.id
        assert metadata_store.get_artifact_version("t", "2") is None
        assert metadata_store.get_artifact_version_by_id(second.id) is None
        assert [v.id for v in metadata_store.list_artifact_versions("t")] == [first.id]
        assert [v.id for v in metadata_store.list_artifact_versions()] == [first.id]
        assert [(a.name, a.versions, a.latest_version)
                for a in metadata_store.list_artifacts()] == [("t", 1, "1")]
        assert [v.id for v in metadata_store.hidden_artifact_versions()] == [second.id]
        # what prune and numbering need still sees it
        assert metadata_store.version_taken("t", "2")
        h = stored_data("two").content_hash
        assert metadata_store.content_hash_counts([h]) == {h: 1}
        assert {v.id for v in metadata_store.unreferenced_artifact_versions()} == {
            first.id, second.id}
        later = metadata_store.create_artifact_version(NewArtifactVersion("t", stored_data()))
        assert later.version == "3"  # a hidden number is never given again

        metadata_store.unhide_artifact_versions([second.id, "unknown"])
        assert metadata_store.get_artifact_version("t", "2").id == second.id
        assert metadata_store.hidden_artifact_versions() == []
        metadata_store.hide_artifact_versions([second.id])
        metadata_store.delete_artifact_versions([second.id])
        assert metadata_store.hidden_artifact_versions() == []

    def test_a_hidden_output_is_not_among_its_step_runs_outputs(
            self, metadata_store: MetadataStore) -> None:
        run = _run()
        metadata_store.create_run(run)
        producer = _step(run)
        metadata_store.create_step_run(producer, {})
        [av] = metadata_store.complete_step_run(producer.id, outputs=[("output", NewArtifactVersion(
            "o", stored_data(), producer_step_run_id=producer.id, run_id=run.id))],
            extra_inputs={}, finished=time.time())
        metadata_store.hide_artifact_versions([av.id])
        assert metadata_store.step_io(producer.id) == ({}, {})

    def test_list_artifacts(self, metadata_store: MetadataStore) -> None:
        for name in ("b", "a", "b"):
            metadata_store.create_artifact_version(NewArtifactVersion(name, stored_data()))
        summary = {s.name: (s.versions, s.latest_version) for s in metadata_store.list_artifacts()}
        assert summary == {"a": (1, "1"), "b": (2, "2")}
        assert len(metadata_store.list_artifact_versions()) == 3
        assert [v.version for v in metadata_store.list_artifact_versions("b")] == ["1", "2"]

    def test_runs_page_newest_first_and_count_by_status(self, metadata_store: MetadataStore) -> None:
        runs = [_run("paged") for _ in range(5)]
        for run in runs:
            metadata_store.create_run(run)
            time.sleep(0.001)  # distinct creation times
        for run in runs[:2]:
            metadata_store.finish_run(run.id, ExecutionStatus.FAILED, time.time(), error="x")
        newest = [r.id for r in reversed(runs)]
        assert [r.id for r in metadata_store.list_runs(pipeline_name="paged")] == newest
        assert [r.id for r in metadata_store.list_runs(limit=2)] == newest[:2]
        assert [r.id for r in metadata_store.list_runs(limit=2, offset=2)] == newest[2:4]
        assert [r.id for r in metadata_store.list_runs(offset=3)] == newest[3:]
        assert metadata_store.list_runs(limit=2, offset=5) == []
        assert [r.id for r in metadata_store.list_runs(status="failed", limit=1)] == [runs[1].id]
        assert metadata_store.count_runs() == 5
        assert metadata_store.count_runs(status="failed") == 2
        assert metadata_store.count_runs(status="running") == 3
        assert metadata_store.count_runs(pipeline_name="paged", status="completed") == 0
        assert metadata_store.count_runs(pipeline_name="other") == 0

    def test_versions_page_in_creation_order(self, metadata_store: MetadataStore) -> None:
        for i in range(4):
            metadata_store.create_artifact_version(NewArtifactVersion("pg", stored_data(str(i))))
        metadata_store.create_artifact_version(NewArtifactVersion("other", stored_data()))
        page = metadata_store.list_artifact_versions("pg", limit=2, offset=1)
        assert [v.version for v in page] == ["2", "3"]
        assert [v.version for v in metadata_store.list_artifact_versions("pg", offset=3)] == ["4"]
        assert metadata_store.list_artifact_versions("pg", limit=3, offset=4) == []
        everything = metadata_store.list_artifact_versions()
        assert [(v.name, v.version) for v in everything][-2:] == [("pg", "4"), ("other", "1")]
        assert metadata_store.list_artifact_versions(limit=1, offset=4) == everything[4:]

    def test_runs_sort_by_other_keys_with_ties_in_creation_order(
            self, metadata_store: MetadataStore) -> None:
        runs = [attrs.evolve(_run("sorted"), name=name) for name in ("b-run", "a-run", "c-run")]
        for run in runs:
            metadata_store.create_run(run)
        metadata_store.finish_run(runs[2].id, ExecutionStatus.COMPLETED, time.time())
        by_name = metadata_store.list_runs(order_by="name", descending=False)
        assert [r.name for r in by_name] == ["a-run", "b-run", "c-run"]
        assert [r.name for r in metadata_store.list_runs(order_by="name", limit=1)] == ["c-run"]
        oldest = metadata_store.list_runs(descending=False)
        assert [r.id for r in oldest] == [r.id for r in runs]
        by_status = metadata_store.list_runs(order_by="status", descending=False)
        assert [r.id for r in by_status] == [runs[2].id, runs[0].id, runs[1].id]
        finished = metadata_store.list_runs(order_by="finished")  # unfinished ones last
        assert finished[0].id == runs[2].id
        assert [p.name for p in metadata_store.list_pipelines()] == ["sorted"]
        assert metadata_store.list_pipelines()[0].runs == 3
        assert metadata_store.list_pipelines()[0].latest_run_id == runs[2].id

    def test_versions_sort_and_count(self, metadata_store: MetadataStore) -> None:
        for name, size in (("x", 3), ("y", 1), ("x", 2)):
            data = attrs.evolve(stored_data(f"{name}{size}"), size=size)
            metadata_store.create_artifact_version(NewArtifactVersion(name, data))
        assert metadata_store.count_artifact_versions() == 3
        assert metadata_store.count_artifact_versions("x") == 2
        assert metadata_store.count_artifact_versions("none") == 0
        newest = metadata_store.list_artifact_versions(descending=True)
        assert [(v.name, v.version) for v in newest] == [("x", "2"), ("y", "1"), ("x", "1")]
        by_size = metadata_store.list_artifact_versions(order_by="size", limit=2)
        assert [v.size for v in by_size] == [1, 2]
        by_name = metadata_store.list_artifact_versions(order_by="name", descending=True)
        assert [(v.name, v.version) for v in by_name] == [("y", "1"), ("x", "2"), ("x", "1")]

    def test_ids_by_prefix_and_neighbours(self, metadata_store: MetadataStore) -> None:
        run = _run()
        metadata_store.create_run(run)
        ids = sorted(["0" * 31 + "1", "0" * 30 + "11", "0" * 30 + "20", "f" * 32])
        steps = [attrs.evolve(_step(run, key=None), id=i) for i in ids]
        for step in steps:
            metadata_store.create_step_run(step, {})
        assert metadata_store.match_ids("step_run", "0" * 30) == ids[:3]
        assert metadata_store.match_ids("step_run", "0" * 30, limit=2) == ids[:2]
        assert metadata_store.match_ids("step_run", "0" * 30 + "2") == [ids[2]]
        assert metadata_store.match_ids("step_run", "e") == []
        assert metadata_store.match_ids("run", run.id[:8]) == [run.id]
        assert metadata_store.adjacent_ids("step_run", ids[1]) == (ids[0], ids[2])
        assert metadata_store.adjacent_ids("step_run", ids[0]) == (None, ids[1])
        assert metadata_store.adjacent_ids("step_run", ids[3]) == (ids[2], None)
        av = metadata_store.create_artifact_version(NewArtifactVersion("ids", stored_data()))
        assert metadata_store.match_ids("artifact_version", av.id[:-1]) == [av.id]
        assert metadata_store.adjacent_ids("artifact_version", av.id) == (None, None)

    def test_configuration_and_times_round_trip(self, metadata_store: MetadataStore) -> None:
        run = attrs.evolve(_run(), options={"enable_cache": False,
                                            "substitutions": {"stage": "test"}})
        metadata_store.create_run(run)
        step = _step(run)
        metadata_store.create_step_run(step, {})
        found = metadata_store.get_run(run.id)
        assert found.options == run.options and found.created == run.created
        assert metadata_store.get_step_run(step.id).started == step.started
        av = metadata_store.create_artifact_version(NewArtifactVersion("t", stored_data()))
        assert metadata_store.get_artifact_version_by_id(av.id).created == av.created

    def test_cache_candidates_are_successful_runs_newest_first_up_to_limit(
            self, metadata_store: MetadataStore) -> None:
        run = _run()
        metadata_store.create_run(run)
        done = []
        for status in ("completed", "failed", "cached", "completed", "running"):
            step_run = _step(run, key="shared")
            if status == "cached":
                step_run.status = ExecutionStatus.CACHED  # recorded as cached right away
            metadata_store.create_step_run(step_run, {})
            if status == "failed":
                metadata_store.fail_step_run(step_run.id, "boom", time.time())
            elif status == "completed":
                metadata_store.complete_step_run(step_run.id, outputs=[], extra_inputs={},
                                                 finished=time.time())
            if status in ("completed", "cached"):
                done.append(step_run.id)
        newest = list(reversed(done))
        assert [s.id for s in metadata_store.find_cache_candidates("shared")] == newest
        assert [s.id for s in metadata_store.find_cache_candidates("shared", limit=2)] == newest[:2]
        assert [s.id for s in metadata_store.find_cache_candidates("shared", limit=1)] == newest[:1]
        assert metadata_store.find_cache_candidates("other") == []

    def test_cached_step_runs_come_with_their_visible_outputs(
            self, metadata_store: MetadataStore) -> None:
        """find_cached_step_runs answers as find_cache_candidates + step_io would."""
        run = _run()
        metadata_store.create_run(run)
        made = []
        for outputs in (2, 0, 1):
            step = _step(run, key="shared")
            metadata_store.create_step_run(step, {})
            metadata_store.complete_step_run(step.id, outputs=[
                (f"out{i}", NewArtifactVersion(f"v{i}", stored_data(f"{step.id}{i}"),
                                               producer_step_run_id=step.id, run_id=run.id))
                for i in range(outputs)], extra_inputs={}, finished=time.time())
            made.append(step.id)
        hidden = metadata_store.step_io(made[0])[1]["out1"]
        metadata_store.hide_artifact_versions([hidden.id])
        for limit in (1, 2, 3, 5):
            expected = [(s.id, {k: av.id for k, av in metadata_store.step_io(s.id)[1].items()})
                        for s in metadata_store.find_cache_candidates("shared", limit)]
            got = [(s.id, {k: av.id for k, av in outputs.items()})
                   for s, outputs in metadata_store.find_cached_step_runs("shared", limit)]
            assert got == expected
        assert [len(o) for _, o in metadata_store.find_cached_step_runs("shared")] == [1, 0, 1]
        assert metadata_store.find_cached_step_runs("other") == []

    def test_step_io_of_many_step_runs_is_each_ones_step_io(
            self, metadata_store: MetadataStore) -> None:
        """step_io_many answers as step_io per step run would (hidden versions left out,
        steps without links and unknown ids given empty dicts)."""
        run = _run()
        metadata_store.create_run(run)
        first = _step(run, "first")
        metadata_store.create_step_run(first, {})
        made = metadata_store.complete_step_run(first.id, outputs=[
            (f"out{i}", NewArtifactVersion(f"v{i}", stored_data(f"{first.id}{i}"),
                                           producer_step_run_id=first.id, run_id=run.id))
            for i in range(3)], extra_inputs={}, finished=time.time())
        second = _step(run, "second")
        metadata_store.create_step_run(second, {"a": made[0].id, "b": made[1].id})
        lonely = _step(run, "lonely")
        metadata_store.create_step_run(lonely, {})
        elsewhere = _step(run, "elsewhere")
        metadata_store.create_step_run(elsewhere, {"x": made[2].id})
        metadata_store.hide_artifact_versions([made[1].id])

        def ids(io):
            return tuple({k: av.id for k, av in part.items()} for part in io)

        asked = [first.id, second.id, lonely.id, "0" * 32]
        got = metadata_store.step_io_many(asked)
        assert list(got) == asked
        assert {k: ids(v) for k, v in got.items()} == {
            k: ids(metadata_store.step_io(k)) for k in asked}
        assert ids(got[second.id]) == ({"a": made[0].id}, {})
        assert ids(got[lonely.id]) == ids(got["0" * 32]) == ({}, {})
        assert metadata_store.step_io_many([]) == {}

    def test_writes_in_a_transaction_are_seen_together(self, metadata_store: MetadataStore) -> None:
        other = self.reopen(metadata_store)
        try:
            run = _run()
            with metadata_store.transaction():
                metadata_store.create_run(run)
                av = metadata_store.create_artifact_version(NewArtifactVersion("t", stored_data()))
                assert metadata_store.get_run(run.id) is not None  # this instance sees its writes
                assert other.get_run(run.id) is None  # nobody else sees half of them
            assert other.get_run(run.id).name == run.name
            assert other.get_artifact_version_by_id(av.id).version == "1"
        finally:
            other.close()

    def test_a_failing_transaction_leaves_none_of_its_writes(
            self, metadata_store: MetadataStore) -> None:
        run = _run()
        with pytest.raises(RuntimeError, match="half-way"):
            with metadata_store.transaction():
                metadata_store.create_run(run)
                metadata_store.create_artifact_version(NewArtifactVersion("r", stored_data()))
                raise RuntimeError("half-way")
        assert metadata_store.get_run(run.id) is None
        assert metadata_store.get_artifact_version("r") is None
        # the store is usable afterwards, and the rolled-back write took no version number
        assert metadata_store.create_artifact_version(
            NewArtifactVersion("r", stored_data())).version == "1"

    def test_flush_makes_grouped_writes_visible_to_others(
            self, metadata_store: MetadataStore) -> None:
        other = self.reopen(metadata_store)
        try:
            run = _run()
            with metadata_store.transaction(group=True):
                metadata_store.create_run(run)
            assert metadata_store.get_run(run.id) is not None  # at once in this instance
            metadata_store.flush()
            assert other.get_run(run.id).id == run.id
        finally:
            other.close()

