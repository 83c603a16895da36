"""Artifact names and versions: the rules, and the messages that refuse what breaks them."""

from __future__ import annotations

import pytest

from zen_core import ArtifactConfig, register_artifact, save_artifact
from zen_core.client import Client
from zen_core.errors import ArtifactNameError
from zen_core.naming import validate_name, validate_version


@pytest.mark.parametrize("version", ["1", "2.0", "v3-rc1", "prod", 7, 2**63 - 1])
def test_valid_versions(version):
    assert validate_version(version) == str(version)


@pytest.mark.parametrize("version", [
    "", ".", "..", "\x00", "x/../y", "a\\b", " 3", "3 ", "0", "007", "9" * 30, 2**63,
    "a\u202eb", True, 1.5,
])
def test_invalid_versions_are_refused_naming_the_value_and_the_rule(version):
    with pytest.raises(ArtifactNameError) as info:
        validate_version(version, "model")
    message = str(info.value)
    assert f"invalid version {version!r} of artifact 'model'" in message
    assert "numeric version is a whole number from 1 to 2**63-1" in message and "Fix:" in message


@pytest.mark.parametrize("name", ["a\u202eb", "x\u2066y", "\x85next"])
def test_names_with_direction_overrides_or_c1_controls_are_refused(name):
    with pytest.raises(ArtifactNameError, match="bidirectional-override"):
        validate_name(name)


@pytest.mark.parametrize("version", ["", " 3", "x/../y", "\x00", "9" * 30])
def test_bad_versions_store_nothing(version):
    with pytest.raises(ArtifactNameError, match="invalid version"):
        save_artifact(1, "n", version=version)
    prefix = Client().active_stack.artifact_store.path
    with pytest.raises(ArtifactNameError, match="invalid version"):
        register_artifact(prefix + "/f", "r", version=version)
    with pytest.raises(ArtifactNameError, match="invalid version"):
        ArtifactConfig(name="m", version=version)
    assert Client().list_artifact_versions() == []


def test_a_large_but_valid_version_number_counts_on():
    save_artifact(1, "big", version=2**62)
    assert save_artifact(2, "big").version == str(2**62 + 1)


@pytest.mark.parametrize("text", ["a\ud800b", "\udc80"])
def test_text_that_is_not_valid_unicode_is_refused_not_sent_to_the_database(text):
    """Found by tests/test_properties.py: a lone surrogate reached SQLite and came back as
    a raw UnicodeEncodeError, after the data was already written."""
    from zen_core import save_artifact
    from zen_core.client import Client
    from zen_core.errors import ArtifactNameError, ArtifactNotFoundError

    with pytest.raises(ArtifactNameError, match="lone surrogates"):
        save_artifact(b"x", text)
    with pytest.raises(ArtifactNameError, match=r"invalid version .*follow the name rules"):
        save_artifact(b"x", "fine", version=text)
    assert Client().list_artifacts() == []
    with pytest.raises(ArtifactNotFoundError, match="not valid Unicode text"):
        Client().get_artifact_version(text)
    assert Client().list_artifact_versions(text) == []
