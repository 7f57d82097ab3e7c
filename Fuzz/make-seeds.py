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
# Outboards: the root, then the outboard, from the Bao vectors next to s5-vectors.json.
for item in json.load(open(os.path.join(os.path.dirname(path), "bao256.json"))):
    if "outboard_hex" in item:
        write("outboard", "len%d" % item["input_len"], bytes.fromhex(item["blake3"] + item["outboard_hex"]))
docs = vectors["blob_id_docs_check"]
for key, text in docs["computed"].items():
    write("ids", "blob-" + key, text)
write("ids", "blob-bytes", bytes.fromhex(docs["sha256_variant_computed"]["bytes_hex"]))

# --- the apps family: feeds/ samples and config files -----------------------------------------------------
feeds = os.path.join(root, "feeds")


def read(*parts):
    with open(os.path.join(feeds, *parts), "rb") as source:
        return source.read()


if os.path.isdir(feeds):
    sums = read("example-release", "SHA256SUMS")
    for name in sorted(os.listdir(feeds)):
        path = os.path.join(feeds, name)
        if not os.path.isfile(path) or name == "README.md":
            continue
        data = read(name)
        write("feed", name, data)
        if name.endswith(".txt"):
            write("urllist", name, data)
        elif name.endswith((".meta4", ".metalink")):
            write("metalink", name, data)
        elif name.endswith(".toml"):
            # The fuzz loader answers every http(s) checksum reference with what follows the NUL byte.
            write("tomlfeed", name, data + b"\0" + sums)
            write("feed", name + "-with-sums", data + b"\0" + sums)
    for name in sorted(os.listdir(os.path.join(feeds, "example-release"))):
        write("checksums", name, read("example-release", name))

write("config", "empty", "")
write("config", "full", """[keypair]
seed = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

[database]
path = "/var/lib/mirrorbot/db.sqlite"

[p2p]
network = "test"
listen = "[::1]:0"
public_uris = ["wss://example.org/s5/p2p"]
record_ttl = 7200

[p2p.peers]
initial = ["wss://z2DUQzn4ggeUTS48KyahTMRHMPWfYW5dvtTygtmg617HL4p@other.example.org/s5/p2p"]
block = ["bad.example"]
auto_connect = false
max_peers = 16

[crawl]
concurrency = 8
per_host = 2
contact = "https://example.org/about-this-bot"
max_body = 1000000
recheck_age = 86400
feeds = ["feeds/a.txt", "feeds/b.toml"]
interval = 3600

[verifier]
allow_private_addresses = true
checks_per_hour = 10
bytes_per_hour = 1000000
""")
write("config", "template-comments", """# mirrorbot configuration
[keypair]
seed = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"
[p2p]
# listen = "0.0.0.0:5050"
listen = "0.0.0.0:5050"
[crawl]
feeds = []
""")
