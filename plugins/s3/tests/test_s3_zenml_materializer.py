"""A ZenML-style materializer, as ZenML's docs write it, on an S3 artifact store (moto):
``os.path.join(self.uri, ...)`` on an ``s3://`` URI, ``self.artifact_store.open`` and
``fileio`` go through the object store, hashed and verified."""

import os

import pytest

from zen_core import pipeline, step
from zen_core.client import Client
from zen_core.enums import ArtifactType
from zen_core.errors import IntegrityError
from zen_core.io import fileio
from zen_core.materializers.base_materializer import BaseMaterializer
from zen_core.testing import ObjectStoreFixtures


class MyObj:
    def __init__(self, name: str):
        self.name = name


class MyMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES = (MyObj,)
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.DATA

    def load(self, data_type: type[MyObj]) -> MyObj:
        with self.artifact_store.open(os.path.join(self.uri, "data.txt"), "r") as f:
            name = f.read()
        assert fileio.exists(os.path.join(self.uri, "copy.txt"))
        return MyObj(name=name)

    def save(self, my_obj: MyObj) -> None:
        with self.artifact_store.open(os.path.join(self.uri, "data.txt"), "w") as f:
            f.write(my_obj.name)
        with self.get_temporary_directory(delete_at_exit=True) as temp_dir:
            local = os.path.join(temp_dir, "copy.txt")
            with open(local, "w") as f:
                f.write(my_obj.name)
            fileio.copy(local, os.path.join(self.uri, "copy.txt"))


@step(output_materializers=MyMaterializer)
def my_first_step() -> MyObj:
    return MyObj("on s3")


@pipeline
def s3_pipeline():
    my_first_step()


class TestZenMLMaterializerOnS3(ObjectStoreFixtures):
    def test_saves_loads_and_verifies_on_s3(self, stack_root):
        av = s3_pipeline().steps["my_first_step"].output
        assert av.uri.startswith(stack_root) and sorted(av.files) == ["copy.txt", "data.txt"]
        assert av.load().name == "on s3"
        store = Client().active_stack.artifact_store
        with store.open(f"{av.uri}/data.txt", "wb") as f:
            f.write(b"forged")
        with pytest.raises(IntegrityError, match="is corrupt"):
            av.load()
