"""Checkpoints written during a plain torch training loop become versions of one artifact."""

from __future__ import annotations

import os
from pathlib import Path
from uuid import uuid4

import pytest
import torch
from torch import nn
from zen_torch.checkpoints import CheckpointRegistrar, register_checkpoints

from zen_core import register_artifact
from zen_core.client import Client
from zen_core.errors import StoreError


def _train(epochs: int, on_epoch_end) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    for epoch in range(epochs):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        on_epoch_end(epoch, model)
    return model


def test_each_checkpoint_is_a_new_version_while_training():
    prefix = Client().active_stack.artifact_store.path
    checkpoint_dir = os.path.join(prefix, uuid4().hex)
    ckpts = CheckpointRegistrar("linear_checkpoints", checkpoint_dir)
    weights = []

    def save(epoch, model):
        weights.append(model.weight.detach().clone())
        av = ckpts.save(model.state_dict(), f"checkpoint-{epoch:02d}.pt")
        assert av.version == str(epoch + 1)

    _train(3, save)
    versions = Client().list_artifact_versions(name="linear_checkpoints")
    assert [v.version for v in versions] == ["1", "2", "3"]
    for epoch, av in enumerate(versions):
        path = av.load()
        assert isinstance(path, Path) and path.name == f"checkpoint-{epoch:02d}.pt"
        state = torch.load(path, weights_only=True)
        assert torch.equal(state["weight"], weights[epoch])
    # the files stay in the user's folder, where the framework wrote them
    assert sorted(os.listdir(checkpoint_dir)) == [f"checkpoint-{i:02d}.pt" for i in range(3)]
    assert Client().get_artifact_version("linear_checkpoints").version == "3"


def test_files_written_by_the_loop_are_registered_by_scan():
    prefix = Client().active_stack.artifact_store.path
    checkpoint_dir = os.path.join(prefix, uuid4().hex)
    os.makedirs(checkpoint_dir)

    def write(epoch, model):  # what a framework callback does: plain torch.save to a path
        torch.save(model.state_dict(), os.path.join(checkpoint_dir, f"epoch={epoch}.ckpt"))
        register_checkpoints(checkpoint_dir, "scanned")  # after every epoch: only the new file

    _train(2, write)
    assert register_checkpoints(checkpoint_dir, "scanned") == []  # nothing new
    versions = Client().list_artifact_versions(name="scanned")
    assert [Path(v.uri).name for v in versions] == ["epoch=0.ckpt", "epoch=1.ckpt"]
    assert [v.version for v in versions] == ["1", "2"]
    # the guide's folder registration still works on the same folder
    folder_av = register_artifact(folder_or_file_uri=checkpoint_dir, name="all_checkpoints")
    assert sorted(p.name for p in folder_av.load().iterdir()) == ["epoch=0.ckpt", "epoch=1.ckpt"]


def test_default_folder_lies_in_the_store():
    ckpts = CheckpointRegistrar("defaults")
    store = Client().active_stack.artifact_store
    assert ckpts.folder.startswith(store.path + "/checkpoints/")
    av = ckpts.save({"step": torch.tensor(1)}, "first.pt")
    assert av.uri.startswith(ckpts.folder)
    assert [v.id for v in ckpts.versions()] == [av.id]


def test_folder_outside_the_store_is_refused(tmp_path):
    with pytest.raises(StoreError, match=r"outside the active artifact store"):
        CheckpointRegistrar("outside", str(tmp_path / "elsewhere"))


def test_checkpoint_names_may_not_leave_the_folder():
    ckpts = CheckpointRegistrar("escape")
    with pytest.raises(StoreError, match=r"'\.\./x\.pt'.*relative path"):
        ckpts.save({}, "../x.pt")
