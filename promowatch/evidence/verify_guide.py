"""VERIFY.md: how a third party checks a case bundle by hand, without promowatch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_CHECK_SCRIPT = """\
import hashlib, json
from warcio.archiveiterator import ArchiveIterator

def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

def sha(data):
    return hashlib.sha256(data).hexdigest()

records = {}
for line in open("observations.jsonl", encoding="utf-8"):
    obs = json.loads(line)
    records[(obs["kind"], obs["id"])] = obs["record"]
    if obs["extension"] is not None:
        records[(obs["kind"] + "_ext", obs["id"])] = obs["extension"]

previous, seen, last_ext = None, set(), {}
for line in open("chain.jsonl", encoding="utf-8"):
    entry = json.loads(line)
    key = (entry["record_kind"], entry["record_id"])
    record = records.get(key)
    evidence = entry.get("evidence", [])  # another product's entry: the hashes its record cites
    if key[0].endswith("_ext"):
        last_ext[key] = entry["record_sha256"]  # an interval's older extensions are superseded
    elif record is not None:
        evidence = sorted({record.get(k) for k in ("evidence_sha256", "screenshot_sha256")} - {None})
        assert sha(canonical(record)) == entry["record_sha256"], f"record of entry {entry['seq']} differs"
        seen.add(key)
    preimage = {k: entry[k] for k in ("seq", "created_at", "record_kind", "record_id", "record_sha256",
                                      "prev_sha256")}
    preimage["evidence"] = evidence
    assert sha(canonical(preimage)) == entry["entry_sha256"], f"entry {entry['seq']} hash differs"
    if previous is not None:
        assert entry["prev_sha256"] == previous["entry_sha256"], f"entry {entry['seq']} link broken"
    previous = entry
for key, record in records.items():
    if key[0].endswith("_ext"):
        ok = sha(canonical(record)) == last_ext[key] if key in last_ext else record["checks"] == 1
        assert ok, f"interval {key} differs from its last chain entry"
    else:
        assert key in seen, f"observation {key} has no chain entry"

bodies = {}
with open("evidence.warc.gz", "rb") as stream:
    for record in ArchiveIterator(stream):
        if record.rec_type == "response":
            bodies[sha(record.content_stream().read())] = record.rec_headers.get_header("WARC-Target-URI")
cited = {r.get("evidence_sha256") for (kind, _), r in records.items() if kind in ("offer", "store")} - {None}
case = json.load(open("case.json", encoding="utf-8"))
in_warc = {h for h, e in case["evidence"].items() if e["record_type"] == "response"}
assert in_warc <= set(bodies), f"responses missing from the WARC: {in_warc - set(bodies)}"
print(f"chain: {len(seen)} records chained; WARC: {len(bodies)} responses; cited captures: {len(cited)}")
"""


def _run_timestamps(case: Mapping[str, Any]) -> str:
    tokens = case.get("chain_timestamps") or []
    if not tokens:
        return """
## Trusted time of the observations
No run timestamp covers these observations: the runs that made them had no timestamp authority configured
(or could not reach it), so their times rest on the capturing machine's clock and on the export's timestamp.
"""
    rows = "".join(
        f"| {t['seq']} | `{t['head_sha256']}` | {t['time']} | {t['tsa']} | `{t['path']}` |\n" for t in tokens
    )
    first = tokens[0]
    return f"""
## Trusted time of the observations
After each crawl, promowatch asked a timestamp authority for an RFC 3161 token over the hash chain's newest
entry (its head). A token's message imprint is that entry's `entry_sha256`, which covers its `seq` and, through
`prev_sha256`, every entry before it. So every observation chained at or before a stamped entry existed, as
recorded, at the token's time: whoever holds the database cannot have rewritten it after that time without
the rebuilt chain leading to another hash. The tokens covering this case (for each observation, the first
token at or after its chain entry), listed in `case.json` under `chain_timestamps`:

| chain entry | entry_sha256 | time | authority | token |
|---|---|---|---|---|
{rows}
For each token, with the authority's CA certificate (obtained from the authority, not from this bundle):

    openssl ts -reply -in {first["path"]} -text         # the time and the imprint (= the entry's hash)
    openssl ts -verify -digest {first["head_sha256"]} -in {first["path"]} -CAfile AUTHORITY-CA.pem
    grep '"seq": {first["seq"]},' chain.jsonl         # the entry: its entry_sha256 is the digest above

`chain.jsonl` runs up to the newest stamped entry, and the script above checks every link up to it.
`promowatch case verify --tsa-ca AUTHORITY-CA.pem case.zip` makes the same checks.
"""


def _published_head(case: Mapping[str, Any]) -> str:
    head = case["chain"]["head_at_export"] or {}
    return f"""
## Comparing with a published head
At export the chain's newest entry was entry {head.get("seq")}, `entry_sha256` {head.get("entry_sha256")}.
A group that runs promowatch can print its head at any time with `promowatch evidence publish-head` (entry
number, `entry_sha256`, time, number of entries and the latest run timestamp; `--json` for a machine) and
publish it or mail it to itself, so that a dated copy exists outside its own database. To compare a head
published earlier with this case: when its entry number lies within `chain.jsonl`, the entry of that number must
carry the published `entry_sha256` (`grep '"seq": N,' chain.jsonl`); the chain check above then shows that the
observations before it are unchanged since it was published. When it lies outside, ask the holder to run
`promowatch evidence verify` and to show the entry of that number: a chain rebuilt since leads to another hash.
"""


def _replay(case: Mapping[str, Any]) -> str:
    if not case.get("wacz"):
        return ""
    return f"""
## Replaying the captures
`{case["wacz"]}` holds the same WARC records as a WACZ 1.1.1 package (the WARC after the crawl runs'
`warcinfo` records, a CDXJ index, a page list). Open it in ReplayWeb.page (https://replayweb.page or its
desktop app) to browse the pages as the shop served them. `datapackage.json` lists each file's SHA-256 and
`datapackage-digest.json` the SHA-256 of `datapackage.json`; `promowatch case verify` checks both and that every
index line points at its record.
"""


def verify_guide(case: Mapping[str, Any]) -> str:
    """The text of VERIFY.md for one case."""
    finding = case["finding"]
    stamp = ""
    if case.get("timestamp"):
        stamp = f"""
## Trusted timestamp
`manifest-sha256.txt.tsr` is an RFC 3161 reply from {case["timestamp"]["authority"]} over the manifest.
With the authority's CA certificate (obtained from the authority, not from this bundle):

    openssl ts -reply -in manifest-sha256.txt.tsr -text          # shows the time and the hash
    openssl ts -verify -data manifest-sha256.txt -in manifest-sha256.txt.tsr -CAfile AUTHORITY-CA.pem
"""
    return f"""# How to verify this case file

Case of finding {finding["id"]} (rule `{finding["rule"]}`), produced by promowatch {case["software"]["version"]}.
Nothing here needs promowatch: `sha256sum`, `openssl` and Python 3 with `warcio` (`pip install warcio`) suffice.

## Every file is the one that was exported
    unzip case.zip -d case && cd case
    sha256sum -c manifest-sha256.txt
    find . -type f ! -name 'manifest-sha256.txt*' | sed 's|^./||' | sort | diff - <(cut -c67- manifest-sha256.txt | sort)

The first command must print `OK` for every line, the second nothing (no file missing, none added).
{stamp}
## The observations are the ones recorded, and the captures are the ones cited
Each line of `observations.jsonl` is one observation: `record` is the exact record promowatch chained when it
stored the observation (canonical JSON: keys sorted, no spaces, UTF-8; prices as strings, times as ISO UTC).
Store stock and ad sightings are intervals; `extension` carries the interval's `last_seen`/`checks`, chained
by a `store_ext`/`ad_ext` entry on every re-check.
`chain.jsonl` is an unbroken run of the hash chain: each entry's `entry_sha256` is SHA-256 of the canonical
JSON of its `seq, created_at, record_kind, record_id, record_sha256, prev_sha256` plus `evidence` (the
sorted SHA-256s of the captures the record cites), and `prev_sha256` is the previous entry's hash.
Each observation's `evidence_sha256` is the SHA-256 of the response body in `evidence.warc.gz` (a standard WARC
file; its `WARC-Payload-Digest` header states the same hash), and `screenshot_sha256` names a file in
`screenshots/`. A body fetched several times unchanged is in the WARC once, with the date and headers of
its first fetch; the crawl's own WARC files hold a `revisit` record for every later fetch. An observation with
`http_status` 304 was a conditional re-check: the shop answered "304 Not Modified" to the validators (ETag,
Last-Modified) of the body it cites, so that body is what the shop vouched for at that time; that exchange (the
conditional request and a `server-not-modified` revisit record with the shop's own headers) is in
`evidence.warc.gz` too, where `case.json`'s `not_modified` says, by observation id.
This script checks all of it (run it inside the unpacked folder):

```python
{_CHECK_SCRIPT}```

{_run_timestamps(case)}{_published_head(case)}{_replay(case)}
## The finding follows from the observations
`case.json` states the rule, its thresholds (`rule.thresholds`) and the measured inputs. `timeline.csv` has one
row per observation; the rule can be re-applied by hand from it. `promowatch case verify case.zip` re-applies
the same rule code to `observations.jsonl` and compares the result with the finding.
"""
