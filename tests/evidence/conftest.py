from __future__ import annotations

from pathlib import Path

import pytest

from promowatch.evidence.case import export_case
from tests.evidence.builder import CaseWorld, build_world


@pytest.fixture
def world(tmp_path: Path) -> CaseWorld:
    return build_world(tmp_path)


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> CaseWorld:
    """One world for tests that only read it."""
    return build_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def bundle(shared_world: CaseWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "case.zip"
    return export_case(
        shared_world.sessions,
        shared_world.blobs_root,
        shared_world.warc_dir,
        shared_world.finding_id,
        out,
        language="fr",
    )
