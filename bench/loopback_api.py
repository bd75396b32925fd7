#!/usr/bin/env python3
"""A minimal, fast stand-in for the Anti-Captcha API, for bench/run only.

The project's simulated API (tests/sim/anticaptcha_sim.py) logs and checks
every request in detail; that makes it the right server for the tests and too
slow to measure a plugin that sends thousands of reports per second on the
same two cores (measured: about 2,500 requests/s over 64 connections at 20 ms,
4,300/s over 200, a whole CPU). This one does as little as possible per
request; bench/run prefers its C twin, bench/loopback_api.c (same options,
protocol and records, about half the CPU per request), and uses this one
without a compiler or with --python-api:

* HTTP/1.1 with keep-alive on 127.0.0.1 (several requests per connection,
  answered in order), no TLS;
* report methods answer {"errorId":0,"status":"success"}, getSpendingStats a
  fixed list of hourly records, getBalance a balance; every answer after
  --delay seconds (a timer per request, no thread);
* it records, per request, the arrival time (time.monotonic(), i.e.
  CLOCK_MONOTONIC, the clock bench/run stamps its PUTNOTIF lines with), the
  method, the taskId and the time the answer was written, and counts TCP
  connections;
* a control port (plain HTTP, not counted) serves GET /stats, GET /dump
  (all records as JSON), POST /reset and POST /delay?seconds=S; the number of
  report requests received so far is also kept in a memory-mapped file
  (--counter-file, one native uint64) so that a load generator can follow it
  without asking.

Python standard library only; loopback only.
"""

import argparse
import array
import asyncio
import json
import mmap
import os
import re
import signal
import struct
import sys
import time
import urllib.parse

METHODS = ("reportIncorrectRecaptcha", "reportCorrectRecaptcha",
           "reportIncorrectImageCaptcha", "getSpendingStats", "getBalance")
REPORT_CODES = (0, 1, 2)
CODE = {("/" + m).encode(): i for i, m in enumerate(METHODS)}

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.I)
TASK_ID = re.compile(rb'"taskId"\s*:\s*(\d+)')
MAX_HEADER = 16384


def http_answer(body, status=b"200 OK"):
    return (b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (status, len(body), body))


def spending_body(records):
    """`records` completed hours before now, oldest first."""
    end = int(time.time()) // 3600 * 3600
    rows = []
    for k in range(records, 0, -1):
        start = end - 3600 * k
        rows.append('{"dateFrom":%d,"dateTill":%d,"volume":%d,"money":%.6f}'
                    % (start, start + 3599, 100 + k, (100 + k) * 0.001953))
    return ('{"errorId":0,"data":[%s]}' % ",".join(rows)).encode()


REPORT_ANSWER = http_answer(b'{"errorId":0,"status":"success"}')
BALANCE_ANSWER = http_answer(b'{"errorId":0,"balance":12.345678}')
NOT_FOUND = http_answer(b'{"errorId":14,"errorCode":"ERROR_NO_SUCH_METHOD"}')
BAD_REQUEST = http_answer(b'{"error":"bad request"}', b"400 Bad Request")


class State:
    def __init__(self, delay, records, counter_file):
        self.delay = delay
        self.records = records
        self.spending = (0, b"")
        self.counter = None
        if counter_file:
            with open(counter_file, "wb") as f:
                f.write(b"\0" * 8)
            fd = os.open(counter_file, os.O_RDWR)
            self.counter = mmap.mmap(fd, 8)
            os.close(fd)
        self.reset()

    def reset(self):
        self.connections = 0
        self.open = 0
        self.reports = 0
        self.arrival = array.array("d")
        self.answered = array.array("d")
        self.method = array.array("b")
        self.task = array.array("q")
        self.conn = array.array("l")
        if self.counter is not None:
            struct.pack_into("=Q", self.counter, 0, 0)

    def spending_answer(self):
        hour = int(time.time()) // 3600
        if self.spending[0] != hour:
            self.spending = (hour, http_answer(spending_body(self.records)))
        return self.spending[1]

    def stats(self):
        by_method = {}
        for code in self.method:
            name = METHODS[code] if code >= 0 else "other"
            by_method[name] = by_method.get(name, 0) + 1
        return {"connections": self.connections, "open_connections": self.open,
                "requests": len(self.arrival), "reports": self.reports,
                "by_method": by_method, "delay": self.delay}

    def dump(self):
        return {"arrival": self.arrival.tolist(),
                "answered": self.answered.tolist(),
                "method": [METHODS[c] if c >= 0 else "other" for c in self.method],
                "task": self.task.tolist(), "conn": self.conn.tolist()}


class ApiProtocol(asyncio.Protocol):
    """One client connection of the API port."""

    def __init__(self, state, loop):
        self.state = state
        self.loop = loop
        self.buf = bytearray()
        self.transport = None
        self.id = 0

    def connection_made(self, transport):
        st = self.state
        st.connections += 1
        st.open += 1
        self.id = st.connections
        self.transport = transport

    def connection_lost(self, exc):
        self.state.open -= 1
        self.transport = None

    def answer(self, answered, index, data):
        # `answered` is the array of the request's epoch: a reset in between
        # does not shift the records.
        if self.transport is not None:
            self.transport.write(data)
        answered[index] = time.monotonic()

    def data_received(self, data):
        now = time.monotonic()
        buf = self.buf
        buf += data
        st = self.state
        while True:
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                if len(buf) > MAX_HEADER:
                    self.transport.write(BAD_REQUEST)
                    self.transport.close()
                return
            m = CONTENT_LENGTH.search(buf, 0, head_end + 2)
            end = head_end + 4 + (int(m.group(1)) if m else 0)
            if len(buf) < end:
                return
            sp1 = buf.find(b" ")
            sp2 = buf.find(b" ", sp1 + 1)
            path = bytes(buf[sp1 + 1:sp2])
            code = CODE.get(path, -1)
            task = -1
            if code in REPORT_CODES:
                t = TASK_ID.search(buf, head_end, end)
                task = int(t.group(1)) if t else 0
                reply = REPORT_ANSWER
                st.reports += 1
                if st.counter is not None:
                    struct.pack_into("=Q", st.counter, 0, st.reports)
            elif code == 3:
                reply = st.spending_answer()
            elif code == 4:
                reply = BALANCE_ANSWER
            else:
                reply = NOT_FOUND
            del buf[:end]
            index = len(st.arrival)
            st.arrival.append(now)
            st.answered.append(0.0)
            st.method.append(code)
            st.task.append(task)
            st.conn.append(self.id)
            if st.delay > 0:
                self.loop.call_later(st.delay, self.answer, st.answered,
                                     index, reply)
            else:
                self.answer(st.answered, index, reply)


class ControlProtocol(asyncio.Protocol):
    """GET /stats, GET /dump, POST /reset, POST /delay?seconds=S."""

    def __init__(self, state):
        self.state = state
        self.buf = bytearray()

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buf += data
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return
        line = bytes(self.buf[:self.buf.find(b"\r\n")]).decode("latin-1")
        del self.buf[:head_end + 4]
        try:
            verb, target, _ = line.split(" ", 2)
            url = urllib.parse.urlsplit(target)
            q = urllib.parse.parse_qs(url.query)
            st = self.state
            if verb == "GET" and url.path == "/stats":
                body = st.stats()
            elif verb == "GET" and url.path == "/dump":
                body = st.dump()
            elif verb == "POST" and url.path == "/reset":
                st.reset()
                body = {"ok": True}
            elif verb == "POST" and url.path == "/delay":
                st.delay = float(q["seconds"][0])
                body = {"ok": True, "delay": st.delay}
            else:
                raise ValueError("unknown control request %r" % line)
            status = b"200 OK"
        except (ValueError, KeyError, IndexError) as e:
            body, status = {"error": str(e)}, b"400 Bad Request"
        data = json.dumps(body).encode()
        self.transport.write(b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                             % (status, len(data), data))
        self.transport.close()


async def main_async(args):
    loop = asyncio.get_running_loop()
    state = State(args.delay, args.records, args.counter_file)
    api = await loop.create_server(lambda: ApiProtocol(state, loop), "127.0.0.1",
                                   args.port, backlog=args.backlog)
    control = await loop.create_server(lambda: ControlProtocol(state),
                                       "127.0.0.1", 0)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    info = {"port": api.sockets[0].getsockname()[1],
            "control_port": control.sockets[0].getsockname()[1],
            "pid": os.getpid()}
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.rename(tmp, args.ready_file)
    if args.watch_parent:
        parent = os.getppid()

        async def watch():
            while os.getppid() == parent:
                await asyncio.sleep(0.5)
            stop.set()
        loop.create_task(watch())
    await stop.wait()
    api.close()
    control.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--delay", type=float, default=0.0,
                   help="seconds before each answer")
    p.add_argument("--records", type=int, default=24,
                   help="hourly records in getSpendingStats answers")
    p.add_argument("--ready-file", required=True,
                   help="written (JSON: port, control_port, pid) once listening")
    p.add_argument("--counter-file", help="mmap'd uint64: reports received")
    p.add_argument("--backlog", type=int, default=1024,
                   help="listen backlog of the API port")
    p.add_argument("--watch-parent", action="store_true",
                   help="exit when the parent process goes away")
    args = p.parse_args()
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
