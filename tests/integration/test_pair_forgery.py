"""Forged and replayed hub pair messages (issue 22, item 1), with real
daemons on loopback: the hubs of tests/integration/test_hub_pair.py, an edge,
and a stranger: a stock collectd (no anticaptcha plugin) whose Hostname is a
hub's name, sending pair messages through unixsock to the hubs' network
port. Whatever the stranger sends, every task is reported exactly once; a
captured message sent again (raw UDP, through a relay between the hubs)
changes nothing either, nor does a hub with another secret. Every message
that fails is counted (anticaptcha/derive-pair-forged) and logged once."""

import socket
import struct
import threading
import time
import unittest

from harness import Collectd, KEY_FILES, Sim, account_block, timeout_factor
import runner
import test_hub_pair as hp

TASKS = 20


def stranger(name, ports):
    """A stock collectd calling itself `name`, sending to the hubs' ports."""
    net = "<Plugin network>\n%s</Plugin>" % "".join(
        '  Server "127.0.0.1" "%d"\n' % p for p in ports)
    return Collectd(plugins=("network",), extra_config=net,
                    load_anticaptcha=False,
                    global_config='Hostname "%s"' % name)


# A stranger cannot compute the tag, but can copy the form of a signed
# message (pair_auth.h): every forged message goes out both as 0.3.1 sent
# them and behind a made-up tag.
FAKE_TAG = "0123456789abcdef0123456789abcdef "


class Forger(threading.Thread):
    """Sends messages() (a list of putnotif keyword arguments) through the
    stranger every `period` seconds until stopped, each in both forms;
    counts what it sent."""

    def __init__(self, cd, messages, period):
        super().__init__(daemon=True)
        self.cd, self.messages, self.period = cd, messages, period
        self.stopped = threading.Event()
        self.sent = 0

    def run(self):
        while not self.stopped.is_set():
            for m in self.messages():
                for prefix in ("", FAKE_TAG):
                    self.cd.putnotif("okay", plugin="anticaptcha",
                                     **dict(m, message=prefix + m["message"]))
                    self.sent += 1
            self.stopped.wait(self.period)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.join(10)
        return False


def heartbeat(host, word):
    return dict(host=host, plugin_instance="", type="pair", type_instance=word,
                message="hub pair: holding the peer's share")


def confirmation(host, ids):
    return dict(host=host, plugin_instance="main", type="reported",
                type_instance="", message=" ".join(str(t) for t in ids))


def reached(sim, tasks, timeout):
    """The tasks that reached the API within `timeout` seconds (waits for
    all of them, and no longer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(t in hp.attempts(sim) for t in tasks):
            break
        time.sleep(0.1)
    seen = hp.attempts(sim)
    return [t for t in tasks if t in seen]


def forged(cd, host):
    return hp.counter(cd, host, "pair-forged", "anticaptcha")


class Stranger(unittest.TestCase):
    """The issue's experiment: hub A alone (its peer hub B is not running),
    a stranger calling itself "hub-b" says every 0.2 s that it is up and
    alone, and confirms the edge's task ids. On 0.3.1 none of the 20 reports
    reached the API."""

    def test_stranger_suppresses_nothing(self):
        pa, pb = hp.udp_port(), hp.udp_port()
        tasks = list(range(9301, 9301 + TASKS))
        with Sim() as sim:
            a = hp.hub("hub-a", "hub-b", sim.http_url, pa, pb)
            with a, stranger("hub-b", [pa]) as s, hp.edge([pa]) as e:
                with Forger(s, lambda: [heartbeat("hub-b", "alone"),
                                        confirmation("hub-b", tasks)], 0.2):
                    for t in tasks:
                        hp.raise_task(e, t)
                        time.sleep(0.1)
                    got = reached(sim, tasks,
                                  hp.HOLD_BACK + hp.TIMEOUT + 8)
                    self.assertEqual(len(got), TASKS,
                                     "%d of %d reports reached the API"
                                     % (len(got), TASKS))
                    time.sleep(hp.HOLD_BACK + 1)
                hp.Pair.assert_once(self, sim, tasks)
                a.wait_for(lambda: forged(a, "hub-a") > 0, 5,
                           "the forged messages counted")
                self.assertEqual(hp.counter(a, "hub-a", "pair-peer-reported"), 0)
                self.assertEqual(a.log().count("forged pair message"), 1)
                self.assertFalse('peer "hub-b" is back' in a.log(),
                                 "hub A took the stranger for its peer")


class PairedHubs(unittest.TestCase):
    """Two paired hubs, and a stranger that claims to be each of them."""

    def setUp(self):
        self.ports = (hp.udp_port(), hp.udp_port())

    def hubs(self, sim):
        pa, pb = self.ports
        return (hp.hub("hub-a", "hub-b", sim.http_url, pa, pb),
                hp.hub("hub-b", "hub-a", sim.http_url, pb, pa))

    def test_forged_down_heartbeats(self):
        """On 0.3.1 forged "down" heartbeats made both hubs send every task
        (the second report of each answered errorId 16)."""
        tasks = list(range(9401, 9401 + TASKS))
        with Sim() as sim:
            a, b = self.hubs(sim)
            with a, b, stranger("x", self.ports) as s, \
                    hp.edge(self.ports) as e:
                a.wait_for(hp.paired(a, b), 15, "the hubs to pair")
                downs = {cd: cd.log().count("is down") for cd in (a, b)}
                with Forger(s, lambda: [heartbeat("hub-a", "down"),
                                        heartbeat("hub-b", "down")], 0.1):
                    time.sleep(0.5)
                    for t in tasks:
                        hp.raise_task(e, t)
                        time.sleep(0.1)
                    reached(sim, tasks, 10)
                    time.sleep(hp.HOLD_BACK + 1.5)
                hp.Pair.assert_once(self, sim, tasks)
                for cd, h in ((a, "hub-a"), (b, "hub-b")):
                    self.assertEqual(cd.log().count("is down"), downs[cd],
                                     "%s believed a forged heartbeat" % h)
                    self.assertEqual(hp.counter(cd, h, "pair-taken-over"), 0)
                    self.assertGreater(forged(cd, h), 0)

    def test_forged_confirmation_flood(self):
        """The edge reaches hub A only (hub B lost every notification), so
        hub A must send hub B's share itself after PairHoldBack. On 0.3.1 a
        flood of confirmations forged in hub B's name made hub A drop that
        share: about half the tasks were never reported."""
        tasks = list(range(9501, 9501 + TASKS))
        # The tasks' ids among many others, as a flood would carry them.
        batches = [tasks[i:i + 10] + list(range(100000 + 20 * i,
                                                100000 + 20 * i + 10))
                   for i in range(0, TASKS, 10)]
        with Sim() as sim:
            a, b = self.hubs(sim)
            with a, b, stranger("hub-b", self.ports[:1]) as s, \
                    hp.edge(self.ports[:1]) as e:
                a.wait_for(hp.paired(a, b), 15, "the hubs to pair")
                with Forger(s, lambda: [confirmation("hub-b", ids)
                                        for ids in batches], 0.02) as f:
                    time.sleep(0.5)
                    for t in tasks:
                        hp.raise_task(e, t)
                        time.sleep(0.1)
                    got = reached(sim, tasks, hp.HOLD_BACK + 8)
                    self.assertEqual(len(got), TASKS,
                                     "%d of %d reports reached the API"
                                     % (len(got), TASKS))
                    time.sleep(hp.HOLD_BACK + 1)
                self.assertGreater(f.sent, 100)
                hp.Pair.assert_once(self, sim, tasks)
                self.assertEqual(hp.counter(a, "hub-a", "pair-peer-reported"), 0)
                self.assertGreater(hp.counter(a, "hub-a", "pair-taken-over"), 0)
                a.wait_for(lambda: forged(a, "hub-a") >= f.sent * 0.9, 5,
                           "the flood counted")
                self.assertEqual(a.log().count("forged pair message"), 1)
                self.assertIn("holding the peer's share", a.log())


def notification_fields(packet):
    """The string parts of a network plugin packet: {"type": ..., ...};
    empty for a packet of values (they have no message part)."""
    fields, i = {}, 0
    while i + 4 <= len(packet):
        kind, length = struct.unpack_from(">HH", packet, i)
        if length < 4:
            break
        if kind in hp.PART_STRINGS:
            fields[hp.PART_STRINGS[kind]] = packet[i + 4:i + length].rstrip(
                b"\0").decode("utf-8", "replace")
        i += length
    return fields if "message" in fields else {}


class WrongSecret(unittest.TestCase):
    """Two hubs whose secret files differ: each takes the other's messages
    for forged, counts them and says so once, and reports alone (every task
    twice then: errorId 16 for the second, as with two unpaired hubs)."""

    def test_hubs_with_different_secrets_do_not_pair(self):
        pa, pb = hp.udp_port(), hp.udp_port()
        tasks = list(range(9601, 9611))
        with Sim() as sim:
            a = hp.hub("hub-a", "hub-b", sim.http_url, pa, pb)
            b = hp.hub("hub-b", "hub-a", sim.http_url, pb, pa,
                       secret="another-secret-" + hp.PAIR_SECRET[15:])
            with a, b, hp.edge([pa, pb]) as e:
                for cd in (a, b):
                    cd.wait_for(lambda cd=cd: "is down" in cd.log(),
                                hp.TIMEOUT + 5, "each hub to give up")
                for t in tasks:
                    hp.raise_task(e, t)
                reached(sim, tasks, 10)
                for cd, h, peer in ((a, "hub-a", "hub-b"),
                                    (b, "hub-b", "hub-a")):
                    cd.wait_for(lambda cd=cd, h=h: forged(cd, h) > 0, 5,
                                "the forged messages counted")
                    self.assertEqual(cd.log().count("forged pair message"), 1)
                    self.assertFalse('peer "%s" is back' % peer in cd.log())
                    self.assertEqual(
                        hp.counter(cd, h, "pair-peer-reported"), 0)
                    self.assertEqual(hp.getval(cd, h, "gauge-pair-peer-up",
                                               "anticaptcha"), 0)
                    cd.assert_no_key(hp.PAIR_SECRET)
                # Each hub sends every task, the slower one (valgrind) a
                # while after the first: wait for both, then no third.
                a.wait_for(lambda: all(len(hp.attempts(sim)[t]) >= 2
                                       for t in tasks),
                           10 * timeout_factor(), "both hubs' reports")
                time.sleep(1)
                seen = hp.attempts(sim)
                self.assertTrue(all(len(seen[t]) == 2 for t in tasks), seen)


class Relay(threading.Thread):
    """Forwards UDP datagrams from its own port to `to_port` on loopback,
    keeping a copy of each pair message: a capture for replaying."""

    def __init__(self, to_port):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.to = ("127.0.0.1", to_port)
        self.captured = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            self.sock.sendto(data, self.to)
            f = notification_fields(data)
            if f.get("plugin") == "anticaptcha":
                self.captured.append((f, data))

    def replay(self, packets):
        for p in packets:
            self.sock.sendto(p, self.to)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.join(5)
        self.sock.close()
        return False


class Replay(unittest.TestCase):
    """Hub B's messages to hub A go through a relay that keeps a copy. Once
    hub B has stopped (and said so), its captured heartbeats are sent to hub
    A again, byte for byte: hub A must not take hub B for alive. On 0.3.1
    it did ("peer "hub-b" is back")."""

    def test_replayed_heartbeats_change_nothing(self):
        pa, pb = hp.udp_port(), hp.udp_port()
        with Sim() as sim, Relay(pa) as relay:
            a = hp.hub("hub-a", "hub-b", sim.http_url, pa, pb)
            b = hp.hub("hub-b", "hub-a", sim.http_url, pb, relay.port)
            with a:
                with b:
                    a.wait_for(hp.paired(a, b), 15, "the hubs to pair")
                    time.sleep(1.5)  # a few heartbeats more
                a.wait_for(lambda: 'peer "hub-b" is down' in a.log(), 5,
                           "hub A to see hub B stop")
                back = a.log().count('peer "hub-b" is back')
                alive = [p for f, p in relay.captured
                         if f.get("type") == "pair" and
                         f.get("type_instance") in ("paired", "holding")]
                self.assertGreater(len(alive), 0, relay.captured)
                for _ in range(int(hp.TIMEOUT / 0.2) + 5):
                    relay.replay(alive)
                    time.sleep(0.2)
                time.sleep(0.5)
                self.assertEqual(a.log().count('peer "hub-b" is back'), back,
                                 "hub A took the replayed heartbeats")
                self.assertEqual(hp.getval(a, "hub-a", "gauge-pair-peer-up",
                                           "anticaptcha"), 0)
                self.assertGreater(forged(a, "hub-a"), 0)
                self.assertEqual(
                    a.log().count("replayed or delayed pair message"), 1)


# What an attacker would put into a field: a line of its own, and a
# terminal's escape sequence.
EVIL = "\x1b[2J\nanticaptcha plugin: all is well"
EVIL_ESCAPED = "\\x1b[2J\\x0aanticaptcha plugin: all is well"


class LogLines(unittest.TestCase):
    """Every notification field that reaches one of the plugin's log lines
    is escaped as API strings are (issue 22, item 2): a field from the
    network can neither forge a line nor drive the terminal that shows the
    log. (The stock logfile plugin writes notifications as they came; only
    the plugin's own lines are checked.)"""

    def warning(self, cd, start):
        lines = [l for l in cd.log().splitlines() if start in l]
        self.assertEqual(len(lines), 1, lines)
        return lines[0]

    def test_stranger_warning(self):
        pa = hp.udp_port()
        with Sim() as sim:
            a = hp.hub("hub-a", "hub-b", sim.http_url, pa, hp.udp_port())
            with a:
                hp.send_packet(pa, hp.notification_packet(
                    host="hub-z" + EVIL, plugin="anticaptcha", type="pair",
                    type_instance="alone", message="x"))
                a.wait_for(lambda: "ignoring pair messages" in a.log(), 10,
                           "the stranger warning")
                line = self.warning(a, "ignoring pair messages")
                self.assertIn('"hub-z%s"' % EVIL_ESCAPED, line)

    def test_confirmation_warning(self):
        """A confirmation the peer signed (here by the test, from the format
        doc/hub-pair.md gives) for an account this hub does not have."""
        pa = hp.udp_port()
        with Sim() as sim:
            a = hp.hub("hub-a", "hub-b", sim.http_url, pa, hp.udp_port())
            with a:
                hp.send_packet(pa, hp.signed_packet(
                    "hub-b", "reported", "9301",
                    plugin_instance="nosuch" + EVIL))
                a.wait_for(lambda: "ignoring a confirmation" in a.log(), 10,
                           "the warning")
                line = self.warning(a, "ignoring a confirmation")
                self.assertIn('account "nosuch%s"' % EVIL_ESCAPED, line)
                self.assertNotIn("forged", a.plugin_log())

    def test_report_request_warning(self):
        rule = ('\n<Report "solved">\n  Type "solved"\n  TaskId type_instance\n'
                '  Method "reportIncorrectRecaptcha"\n</Report>')
        port = hp.udp_port()
        net = '<Plugin network>\n  Listen "127.0.0.1" "%d"\n</Plugin>' % port
        with Sim() as sim, Collectd(account_block(sim.http_url) + rule,
                                    files=KEY_FILES, plugins=("network",),
                                    extra_config=net) as cd:
            hp.send_packet(port, hp.notification_packet(
                host="edge", plugin="solver" + EVIL, type="solved",
                type_instance="not-a-task", message="x"))
            cd.wait_for(lambda: "ignoring a report request" in cd.log(), 10,
                        "the warning")
            line = self.warning(cd, "ignoring a report request")
            self.assertIn('plugin "solver%s"' % EVIL_ESCAPED, line)


if __name__ == "__main__":
    runner.main()
