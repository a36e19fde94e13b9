"""The dossier's PDF as a reader gets it (pdftotext, pdffonts, pdfinfo from poppler-utils), in each case language.

The case is the demo's bait promotion (design.md §8: the coffee machine advertised 499.– instead of 999.–, not
orderable online, stores empty) built by tests/evidence/builder.py through the real evidence pipeline and rule,
and exported by the real `case export` code path.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from promowatch.evidence.case import export_case
from promowatch.report import texts
from tests.evidence.builder import CaseWorld, build_world
from tests.report.pdf_text import PAGE, PRICES, RAW, RULE_WORDS, english_sentences, run_tool, words


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> CaseWorld:
    return build_world(tmp_path_factory.mktemp("bait"))


@pytest.fixture(scope="module")
def dossiers(world: CaseWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dossiers")
    return {
        language: export_case(
            world.sessions,
            world.blobs_root,
            world.warc_dir,
            world.finding_id,
            out / f"{language}.zip",
            language=language,
        )
        for language in texts.LANGUAGES
    }


def _pdf(bundle: Path, tmp: Path) -> Path:
    path = tmp / "summary.pdf"
    path.write_bytes(zipfile.ZipFile(bundle).read("summary.pdf"))
    return path


@pytest.mark.parametrize("language", [pytest.param(x, id=x) for x in texts.LANGUAGES])
def test_pdf_reads_as_a_dossier_in_the_case_language(
    dossiers: dict[str, Path], tmp_path: Path, language: str
) -> None:
    bundle = dossiers[language]
    case = json.loads(zipfile.ZipFile(bundle).read("case.json"))
    pdf = _pdf(bundle, tmp_path)
    text = words(run_tool("pdftotext", "-enc", "UTF-8", pdf, "-"))
    pages = int(re.search(r"^Pages:\s+(\d+)", run_tool("pdfinfo", pdf), re.M).group(1))  # type: ignore[union-attr]

    assert "Nicht lieferbar" in text  # the shop's own stock line, quoted
    advertised, reference = PRICES[language]
    assert advertised in text and reference in text
    assert "Filiale 0, 3000" in text  # the store grid names stores with their postcodes
    assert RULE_WORDS[language] in text
    for n in (1, pages):
        assert PAGE[language].format(n=n, of=pages) in text
    # the case reference and the generation date head or foot every page
    assert text.count(case["reference"]) >= pages
    for exhibit in case["exhibits"]:
        assert exhibit["sha256"] in text  # in full, never cut

    raw = sorted(set(RAW.findall(text)))
    assert not raw, f"identifiers shown to the reader: {raw}"
    if language != "en":
        leaked = [s for s in english_sentences(language) if s in text]
        assert not leaked, f"English left in a {language} dossier: {leaked[:3]}"
        assert case["findings"][0]["summary"][:30] not in text  # the finding's English one-liner


@pytest.mark.parametrize("language", [pytest.param(x, id=x) for x in ("fr", "it")])
def test_pdf_is_a4_portrait_tagged_with_every_font_embedded(
    dossiers: dict[str, Path], tmp_path: Path, language: str
) -> None:
    pdf = _pdf(dossiers[language], tmp_path)
    info = run_tool("pdfinfo", "-f", "1", "-l", "999", pdf)
    sizes = re.findall(r"^Page\s+\d+ size:\s+(.*)$", info, re.M)
    assert sizes and set(sizes) == {"595.276 x 841.89 pts (A4)"}
    assert re.search(r"^Tagged:\s+yes", info, re.M)
    fonts = [line.split() for line in run_tool("pdffonts", pdf).splitlines()[2:]]
    assert fonts
    # columns: name type... encoding emb sub uni object ID; emb is the fifth from the end
    assert all(row[-5] == "yes" for row in fonts), fonts
    assert 'pdfaid:part="2"' in run_tool("pdfinfo", "-meta", pdf)


def test_html_links_each_screenshot_thumbnail_to_its_file_in_the_bundle(dossiers: dict[str, Path]) -> None:
    bundle = zipfile.ZipFile(dossiers["fr"])
    html = bundle.read("summary.html").decode()
    case = json.loads(bundle.read("case.json"))
    shots = [e for e in case["exhibits"] if e["path"].endswith(".png")]
    assert shots
    for exhibit in shots:
        assert f'<a href="{exhibit["path"]}"><img src="{exhibit["path"]}"' in html
        assert exhibit["path"] in bundle.namelist()
