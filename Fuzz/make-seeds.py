#!/usr/bin/env python3
"""Writes the seed inputs of the S5Core fuzz targets from the shared test vectors.

    python3 Fuzz/make-seeds.py [path/to/s5-vectors.json]

Seeds are named seed-<name>; the fuzzer's own finds (hash-named, merged with FUZZ_MERGE=1) sit beside them.
"""
import json
import os
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "vectors", "s5-vectors.json")
vectors = json.load(open(path))


def write(target, name, data):
    folder = os.path.join(root, "Fuzz", "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + name), "wb") as out:
        out.write(data if isinstance(data, bytes) else data.encode())


for index, item in enumerate(vectors["msgpack_primitives"]):
    # The 64 KiB strings and byte strings are given by their header only: header and a few bytes.
    raw = bytes.fromhex(item["hex"]) if "hex" in item else bytes.fromhex(item["header_hex"]) + b"abcdefgh"
    write("msgpack", "%02d-%s" % (index, item["kind"]), raw)
for item in vectors["messages"]:
    raw = bytes.fromhex(item["hex"])
    write("msgpack", item["name"], raw)
    inner = item["kind"].endswith("_inner")
    write("signed" if inner else "p2p", item["name"], raw)
    if item["kind"] == "signed_message":
        write("signed", item["name"], raw)
for item in vectors["storage_locations"]:
    write("record", item["name"], bytes.fromhex(item["record_hex"]))
    write("p2p", "record-" + item["name"], bytes.fromhex(item["record_hex"]))
for item in vectors["storage_location_negative"]:
    write("record", "negative-" + item["name"], bytes.fromhex(item["record_hex"]))
for item in vectors["node_ids"]:
    for key in ("node_id_base58btc", "node_id_base16", "node_id_base32", "node_id_base64url"):
        write("ids", "%s-%s" % (item["name"], key), item[key])
    write("ids", item["name"] + "-bytes", bytes.fromhex(item["node_id_hex"]))
for index, item in enumerate(vectors["hashes"][:4]):
    write("ids", "hash%d-b64" % index, item["multihash_blake3_b64url"])
    write("ids", "hash%d-sha256-b64" % index, item["multihash_sha256_b64url"])
    write("ids", "hash%d-bytes" % index, bytes.fromhex(item["multihash_blake3_legacy_0x1f_hex"]))
docs = vectors["blob_id_docs_check"]
for key, text in docs["computed"].items():
    write("ids", "blob-" + key, text)
write("ids", "blob-bytes", bytes.fromhex(docs["sha256_variant_computed"]["bytes_hex"]))
