#!/usr/bin/env python3
"""Half-open connections against an API server on loopback: does an ordinary request slow down while
N connections sit with unfinished headers, and does the server close them? Prints one JSON line.

usage: half_open.py PORT N CLOSE_WITHIN_S"""
import json, socket, sys, time, http.client, statistics, selectors

port, n, close_within = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
BODY = json.dumps({"prompt": "Once upon a time", "max_tokens": 4, "temperature": 0})

def ordinary(k):
    times = []
    for _ in range(k):
        t = time.perf_counter()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("POST", "/v1/completions", BODY, {"Content-Type": "application/json"})
        r = c.getresponse(); r.read(); c.close()
        assert r.status == 200, r.status
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times)

ordinary(5)  # warm-up
base_med, base_max = ordinary(20)
socks, refused = [], 0
for i in range(n):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")  # headers never end
        s.setblocking(False)
        socks.append(s)
    except OSError:
        refused += 1
        s.close()
time.sleep(1)
loaded_med, loaded_max = ordinary(20)
# how long until the server has closed every half-open connection
start, sel = time.time(), selectors.DefaultSelector()
for s in socks: sel.register(s, selectors.EVENT_READ)
closed_at, open_ = {}, len(socks)
while open_ and time.time() - start < close_within:
    for key, _ in sel.select(0.5):
        s = key.fileobj
        try:
            while s.recv(65536): pass  # an answer (an error status), then EOF
        except BlockingIOError:
            continue  # answered, not yet closed
        except OSError:
            pass  # reset
        closed_at[s] = time.time() - start
        sel.unregister(s); open_ -= 1
still_open = open_
for s in socks: s.close()
print(json.dumps({"port": port, "half_open": n, "refused_on_connect": refused,
                  "ordinary_ms_median_idle": round(base_med, 1), "ordinary_ms_max_idle": round(base_max, 1),
                  "ordinary_ms_median_with_half_open": round(loaded_med, 1), "ordinary_ms_max_with_half_open": round(loaded_max, 1),
                  "closed_by_server": len(closed_at), "still_open_after_s": [still_open, close_within],
                  "last_closed_after_s": round(max(closed_at.values()), 1) if closed_at else None}))
