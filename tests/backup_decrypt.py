#!/usr/bin/env python3
"""An independent reader of Holdfast backups, written from docs/backup-format.md alone.

Usage: backup_decrypt.py FILE PASSPHRASE_FILE
Prints one JSON line: {"rows": N, "tables": {...}, "files": N, "master_key_len": 32}.
Exits 1 if anything fails to authenticate or check.
"""
import hashlib, json, struct, sys

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CHUNK = 65536
TAG = 16


def main(path, passphrase_path):
    data = open(path, "rb").read()
    passphrase = open(passphrase_path, "rb").read().split(b"\n")[0]
    header = data[:64]
    assert header[:8] == b"HFBACKUP" and struct.unpack(">H", header[8:10])[0] == 1 and header[10] == 1
    memory, passes, lanes = struct.unpack(">III", header[11:23])
    salt, prefix = header[23:39], header[39:46]
    assert struct.unpack(">I", header[46:50])[0] == CHUNK and header[50:] == bytes(14)
    key = hash_secret_raw(passphrase, salt, time_cost=passes, memory_cost=memory, parallelism=lanes,
                          hash_len=32, type=Type.ID, version=19)
    aead, body, plain, counter, at = AESGCM(key), data[64:], bytearray(), 0, 0
    while True:
        sealed = body[at:at + CHUNK + TAG]
        at += len(sealed)
        last = at == len(body)
        nonce = prefix + struct.pack(">I", counter) + bytes([1 if last else 0])
        plain += aead.decrypt(nonce, sealed, header)
        counter += 1
        if last:
            break
    frames, pos = [], 0
    while pos < len(plain):
        kind, length = plain[pos], struct.unpack(">I", plain[pos + 1:pos + 5])[0]
        frames.append((kind, bytes(plain[pos + 5:pos + 5 + length])))
        pos += 5 + length
    assert frames[0][0] == 1 and frames[-1][0] == 255
    sums, files, master_key = {}, 0, b""
    for kind, frame in frames[1:-1]:
        if kind == 2:
            name_len = frame[0]
            name = frame[1:1 + name_len].decode()
            key_len = struct.unpack(">I", frame[1 + name_len:5 + name_len])[0]
            k, v = frame[5 + name_len:5 + name_len + key_len], frame[5 + name_len + key_len:]
            rows, h = sums.setdefault(name, [0, hashlib.sha256()])
            sums[name][0] = rows + 1
            h.update(struct.pack(">Q", len(k)) + k + struct.pack(">Q", len(v)) + v)
        elif kind == 3:
            master_key = frame
        elif kind == 4:
            files += 1
    trailer = json.loads(frames[-1][1])
    tables = {name: {"rows": rows, "sha256": h.hexdigest()} for name, (rows, h) in sums.items()}
    # The op log position the snapshot was taken at (where off-site change segments go on).
    oplog_seq = trailer.pop("oplog_seq", 0)
    assert isinstance(oplog_seq, int) and oplog_seq >= 0, "bad oplog_seq"
    assert trailer == {"tables": tables, "files": files}, "trailer mismatch"
    print(json.dumps({"rows": sum(t["rows"] for t in tables.values()), "tables": tables, "files": files,
                      "master_key_len": len(master_key)}))


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except Exception as error:  # any failure is "not intact"
        print(f"not intact: {error!r}", file=sys.stderr)
        sys.exit(1)
