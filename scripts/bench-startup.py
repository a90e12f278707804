#!/usr/bin/env python3
"""Time from process start to the first successful HTTPS request, on an empty data dir.

Usage: scripts/bench-startup.py [BINARY] [RUNS]   (default target/release/holdfast, 20 runs)
Each run starts `holdfast serve` on a fresh temporary data directory (so it generates the
master key, the store and the certificate), then retries GET /health over TLS 1.3 until it
answers 200, and reports the elapsed time.
"""
import os, shutil, socket, ssl, statistics, subprocess, sys, tempfile, time

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/holdfast"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
port = 18943
times = []
for _ in range(runs):
    data = tempfile.mkdtemp(prefix="hf-start-")
    started = time.perf_counter()
    proc = subprocess.Popen([binary, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}", "--http-listen", "off"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = started + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    elapsed_connect = time.perf_counter() - started
                    context = ssl.create_default_context(cafile=os.path.join(data, "tls", "cert.pem"))
                    with context.wrap_socket(sock, server_hostname="localhost") as tls:
                        tls.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                        if tls.recv(64).startswith(b"HTTP/1.1 200"):
                            times.append((elapsed_connect, time.perf_counter() - started))
                            break
            except (ConnectionRefusedError, FileNotFoundError, ssl.SSLError, OSError):
                if time.perf_counter() > deadline:
                    raise SystemExit("server did not start within 10 s")
                time.sleep(0.002)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(data, ignore_errors=True)

connect = sorted(t[0] * 1000 for t in times)
first = sorted(t[1] * 1000 for t in times)
print(f"runs={runs}")
print(f"first accepted connection: median {statistics.median(connect):.1f} ms, max {max(connect):.1f} ms")
print(f"first HTTPS 200 /health:   median {statistics.median(first):.1f} ms, max {max(first):.1f} ms")
