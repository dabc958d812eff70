"""The licences and the citation file: present, well formed, and consistent with the package."""

import datetime
import re

import yaml

from book.notebooks import ROOT

SPDX = {"MIT", "CC-BY-4.0"}


def test_code_is_mit_and_content_is_cc_by():
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License") and "Permission is hereby granted, free of charge" in licence
    assert re.search(r"Copyright \(c\) \d{4} \S", licence)
    content = (ROOT / "LICENSE-CONTENT.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in content and "https://creativecommons.org/licenses/by/4.0/legalcode" in content
    assert "Copyright ©" in content and "How to attribute" in content
    assert len(content) < 6000  # a statement that points to the legal code, not a copy of it


def test_citation_file_is_valid_cff_1_2():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors"):
        assert citation.get(key), f"CITATION.cff lacks the required key {key!r}"
    assert all(isinstance(a, dict) and (a.get("name") or a.get("family-names")) for a in citation["authors"])
    assert citation["type"] in {"software", "dataset"}
    licences = citation["license"] if isinstance(citation["license"], list) else [citation["license"]]
    assert set(licences) == SPDX
    datetime.date.fromisoformat(str(citation["date-released"]))
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    assert str(citation["version"]) == version.group(1)
    allowed = {"cff-version", "message", "title", "abstract", "type", "authors", "version", "date-released",
               "license", "keywords", "repository-code", "url", "doi", "identifiers", "preferred-citation",
               "references", "contact", "commit", "license-url", "repository", "repository-artifact"}
    assert set(citation) <= allowed, set(citation) - allowed
