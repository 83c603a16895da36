"""Metadata stores: the public face for store plugins.

:class:`MetadataStore` is the interface (its methods' docstrings are the
contract, checked by ``zen_core.testing.MetadataStoreContract``);
:class:`SQLMetadataStore` holds all the SQL, portable across SQLite (built in,
:class:`SQLiteMetadataStore`) and PostgreSQL (zen-postgres): a SQL database
needs a :class:`Dialect`, a connection and a unique-violation test. Names load
on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zen_core._lazy import lazy_exports

__all__ = ["ID_KINDS", "MIGRATIONS", "RUN_ORDER_KEYS", "VERSION_ORDER_KEYS", "ArtifactSummary",
           "Dialect", "MetadataStore", "NewArtifactVersion", "PipelineSummary", "ResourceType",
           "RunLease", "SQLMetadataStore", "SQLiteMetadataStore"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "ArtifactSummary": "zen_core.metadata_stores.base",
    "ID_KINDS": "zen_core.metadata_stores.base",
    "RUN_ORDER_KEYS": "zen_core.metadata_stores.base",
    "VERSION_ORDER_KEYS": "zen_core.metadata_stores.base",
    "PipelineSummary": "zen_core.metadata_stores.base",
    "MetadataStore": "zen_core.metadata_stores.base",
    "NewArtifactVersion": "zen_core.metadata_stores.base",
    "ResourceType": "zen_core.metadata_stores.base",
    "RunLease": "zen_core.metadata_stores.base",
    "MIGRATIONS": "zen_core.metadata_stores.sql",
    "Dialect": "zen_core.metadata_stores.sql",
    "SQLMetadataStore": "zen_core.metadata_stores.sql",
    "SQLiteMetadataStore": "zen_core.metadata_stores.sqlite",
})

if TYPE_CHECKING:
    from zen_core.metadata_stores.base import (
        ID_KINDS,
        RUN_ORDER_KEYS,
        VERSION_ORDER_KEYS,
        ArtifactSummary,
        MetadataStore,
        NewArtifactVersion,
        PipelineSummary,
        ResourceType,
        RunLease,
    )
    from zen_core.metadata_stores.sql import MIGRATIONS, Dialect, SQLMetadataStore
    from zen_core.metadata_stores.sqlite import SQLiteMetadataStore
