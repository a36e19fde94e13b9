"""RFC 3161 timestamps of the manifest against a local authority (openssl ts -reply behind HTTP)."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from promowatch.evidence.case import MANIFEST, TIMESTAMP_REPLY, export_case
from promowatch.evidence.case_verify import verify_case
from tests.evidence.builder import CaseWorld
from tests.evidence.tsa import running_authority


def test_timestamped_bundle_verifies_and_detects_a_changed_manifest(
    shared_world: CaseWorld, tmp_path: Path
) -> None:
    with running_authority() as tsa:
        out = export_case(
            shared_world.sessions,
            shared_world.blobs_root,
            shared_world.warc_dir,
            shared_world.finding_id,
            tmp_path / "case.zip",
            language="en",
            tsa_url=tsa.url,
        )
        assert len(tsa.requests) == 1
        report = verify_case(out, tsa_ca_file=tsa.ca_file)
        assert report.ok, report.problems
        assert any("signature verified against ca.pem" in c for c in report.checks)

        with zipfile.ZipFile(out) as z:
            z.extractall(tmp_path / "x")
        # the third-party check VERIFY.md describes, with openssl alone
        subprocess.run(
            [
                "openssl",
                "ts",
                "-verify",
                "-data",
                MANIFEST,
                "-in",
                TIMESTAMP_REPLY,
                "-CAfile",
                str(tsa.ca_file),
            ],
            cwd=tmp_path / "x",
            check=True,
            capture_output=True,
        )

        # a forger rebuilds the manifest after editing a file: the timestamp no longer covers it
        with zipfile.ZipFile(out) as z:
            files = {n: z.read(n) for n in z.namelist()}
        files[MANIFEST] = files[MANIFEST].replace(b"  VERIFY.md", b"  VERIFY.md ", 1)
        forged = tmp_path / "forged.zip"
        with zipfile.ZipFile(forged, "w") as z:
            for name, data in files.items():
                z.writestr(name, data)
        report = verify_case(forged, tsa_ca_file=tsa.ca_file)
        assert "the timestamp reply does not cover this manifest" in report.problems


def test_timestamp_without_ca_checks_the_imprint(shared_world: CaseWorld, tmp_path: Path) -> None:
    with running_authority() as tsa:
        out = export_case(
            shared_world.sessions,
            shared_world.blobs_root,
            shared_world.warc_dir,
            shared_world.finding_id,
            tmp_path / "case.zip",
            tsa_url=tsa.url,
        )
    report = verify_case(out)
    assert report.ok, report.problems
    assert any("signature not checked: no CA given" in c for c in report.checks)
