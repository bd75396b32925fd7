"""The hub pair end to end: two hubs (real collectd daemons with the plugin,
each configured with the other as PairPeer, only collectd's network plugin
between them) and one edge collectd sending every report notification to
both. Each task is reported once while both are up, by the survivor while
hub A is stopped (SIGTERM, and SIGKILL in a second run), and once again when
hub A is back; the peer's reports are never counted as refusals. The hubs
sign their messages with the secret of PairSecretFile; a pair option given
wrong is refused."""

import collections
import hashlib
import hmac
import os
import re
import socket
import struct
import threading
import time
import unittest

from harness import (Collectd, KEY_FILE, KEY_FILES, Sim, TEST_KEY,
                     account_block, free_port, make_tmpdir, plugin_config_test,
                     read_state_file, read_text, remove_tmpdir)
import runner

REPORTS = ("reportCorrectRecaptcha", "reportIncorrectRecaptcha",
           "reportIncorrectImageCaptcha")
HOLD_BACK = 3
TIMEOUT = 2
# Both hubs' PairSecretFile, as `openssl rand -hex 32` makes one. A secret:
# no artefact may hold it (assert_no_key).
PAIR_SECRET = "5f1c0e9a7b3d42c6a8e1f07d9b2c4e6a1d3f5b7c9e0a2c4e6f8b0d2f4a6c8e0b"
SECRET_FILE = "pair.secret"


def udp_port():
    # free_port() probes TCP; on loopback the same number is almost always
    # free for UDP too, and a clash shows as a failed start.
    return free_port()


def hub_config(url, peer):
    return account_block(url) + '''
  PairPeer "%s"
  PairHoldBack %d
  PairTimeout %d
  PairSecretFile "@TMP@/%s"''' % (peer, HOLD_BACK, TIMEOUT, SECRET_FILE)


def hub(name, peer, url, listen, peer_port, secret=PAIR_SECRET):
    net = ('<Plugin network>\n  Listen "127.0.0.1" "%d"\n'
           '  Server "127.0.0.1" "%d"\n</Plugin>' % (listen, peer_port))
    return Collectd(hub_config(url, peer),
                    files=dict(KEY_FILES, **{SECRET_FILE: secret + "\n"}),
                    plugins=("network",), extra_config=net,
                    global_config='Hostname "%s"' % name)


# The collectd network protocol's parts (collectd's network.h): strings,
# and the numbers a notification carries.
PART_STRINGS = {0x0000: "host", 0x0002: "plugin", 0x0003: "plugin_instance",
                0x0004: "type", 0x0005: "type_instance", 0x0100: "message"}
PART_TIME_HR, PART_SEVERITY, SEVERITY_OKAY = 0x0008, 0x0101, 4


def notification_packet(when=None, **fields):
    """A network plugin packet holding one notification (severity OKAY)
    with the given string fields (str or bytes), as any host on the network
    can send it; when: epoch seconds, or a cdtime (int) as is."""
    when = time.time() if when is None else when
    cdtime = when if isinstance(when, int) else int(when * 2 ** 30)
    out = struct.pack(">HHQ", PART_TIME_HR, 12, cdtime)
    out += struct.pack(">HHQ", PART_SEVERITY, 12, SEVERITY_OKAY)
    for kind, name in PART_STRINGS.items():
        value = fields.get(name)
        if value is None:
            continue
        value = value.encode() if isinstance(value, str) else value
        out += struct.pack(">HH", kind, len(value) + 5) + value + b"\0"
    return out


def send_packet(port, packet):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(packet, ("127.0.0.1", port))


def signed_packet(host, type, payload, plugin_instance="", type_instance="",
                  secret=PAIR_SECRET, when=None):
    """A pair message signed as plugin/pair/pair_auth.h describes it, written
    apart from the plugin's code: HMAC-SHA256 over a label, time, severity
    and the length-prefixed fields, its first 16 bytes in hex before the
    payload."""
    cdtime = int((time.time() if when is None else when) * 2 ** 30)
    fields = [host, "anticaptcha", plugin_instance, type, type_instance,
              payload]
    data = b"collectd-anticaptcha pair message 1\0"
    data += struct.pack(">QI", cdtime, SEVERITY_OKAY)
    for f in fields:
        f = f.encode()
        data += struct.pack(">H", len(f)) + f
    tag = hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()[:32]
    return notification_packet(cdtime, host=host, plugin="anticaptcha",
                               plugin_instance=plugin_instance, type=type,
                               type_instance=type_instance,
                               message=tag + " " + payload)


def edge(ports):
    net = "<Plugin network>\n%s</Plugin>" % "".join(
        '  Server "127.0.0.1" "%d"\n' % p for p in ports)
    return Collectd(plugins=("network",), extra_config=net,
                    load_anticaptcha=False, global_config='Hostname "edge"')


def attempts(sim):
    """{task id: [errorId of each report request]}"""
    out = collections.defaultdict(list)
    for r in sim.requests():
        if r["method"] in REPORTS and isinstance(r.get("answer"), dict):
            out[r["body"]["taskId"]].append(r["answer"].get("errorId"))
    return out


def getval(cd, host, name, plugin="anticaptcha-main"):
    """A gauge through unixsock GETVAL (a derive would give its rate);
    None when unknown."""
    answer = cd.unixsock("GETVAL %s/%s/%s" % (host, plugin, name))
    m = re.search(r"^value=(\S+)$", answer, re.M)
    return float(m.group(1)) if m else None


def counter(cd, host, name, plugin="anticaptcha-main"):
    """The last value of a derive counter in the hub's CSV files (the
    harness writes raw values): <csv>/<host>/<plugin>/derive-<name>-<date>."""
    d = os.path.join(cd.csv_dir, host, plugin)
    last = (0, 0.0)
    try:
        names = [n for n in os.listdir(d)
                 if re.fullmatch(re.escape("derive-" + name) + r"-[\d-]+", n)]
    except FileNotFoundError:
        return 0
    for n in names:
        for line in read_text(os.path.join(d, n)).splitlines():
            f = line.split(",")
            try:
                last = max(last, (float(f[0]), float(f[1])))
            except (ValueError, IndexError):
                continue  # the header, or a line being written
    return last[1]


def raise_task(cd, task_id, severity="failure"):
    cd.putnotif(severity, time=time.time(), message="task",
                plugin="anticaptcha", plugin_instance="main",
                type="recaptcha", type_instance=str(task_id))


def paired(a, b):
    """Both hubs say they hear each other."""
    def check():
        return all("hub pair: holding the peer's share" in cd.log() and
                   getval(cd, host, "gauge-pair-peer-up", "anticaptcha") == 1
                   for cd, host in ((a, "hub-a"), (b, "hub-b")))
    return check


class Raiser(threading.Thread):
    """Raises one task every `period` seconds on the edge until stopped."""

    def __init__(self, edge_cd, first_id, period=0.1):
        super().__init__(daemon=True)
        self.edge, self.next_id, self.period = edge_cd, first_id, period
        self.raised = []
        self.paused = threading.Event()
        self.stopped = threading.Event()
        self.idle = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            if self.paused.is_set():
                self.idle.set()
                time.sleep(0.01)
                continue
            self.idle.clear()
            raise_task(self.edge, self.next_id)
            self.raised.append(self.next_id)
            self.next_id += 1
            time.sleep(self.period)

    def pause(self):
        """Stops raising and waits until no putnotif is under way."""
        self.paused.set()
        self.idle.wait(5)

    def resume(self):
        self.idle.clear()
        self.paused.clear()


class Pair(unittest.TestCase):

    def setUp(self):
        self.ports = (udp_port(), udp_port())

    def hubs(self, sim):
        pa, pb = self.ports
        return (hub("hub-a", "hub-b", sim.http_url, pa, pb),
                hub("hub-b", "hub-a", sim.http_url, pb, pa))

    def assert_once(self, sim, tasks):
        seen = attempts(sim)
        missing = [t for t in tasks if t not in seen]
        twice = {t: v for t, v in seen.items() if len(v) != 1}
        self.assertEqual(missing, [], "tasks never reported")
        self.assertEqual(twice, {}, "tasks reported more than once")
        self.assertTrue(all(v == [0] for v in seen.values()))

    def test_both_up_each_task_once(self):
        with Sim() as sim:
            a, b = self.hubs(sim)
            with a, b, edge(self.ports) as e:
                a.wait_for(paired(a, b), 15, "the hubs to pair")
                tasks = list(range(7001, 7051))
                for t in tasks:
                    raise_task(e, t, "okay" if t % 2 else "failure")
                a.wait_for(lambda: len(attempts(sim)) >= 50, 20, "50 reports")
                # Past the hold: a second report would have gone by now.
                time.sleep(HOLD_BACK + 1.5)
                self.assert_once(sim, tasks)
                self.assertEqual(len(attempts(sim)), 50)
                for cd in (a, b):
                    cd.wait_for(lambda cd=cd: counter(cd, cd_host(cd), "reports-accepted") > 0,
                                10, "a shared report")
                acc = {h: counter(cd, h, "reports-accepted")
                       for cd, h in ((a, "hub-a"), (b, "hub-b"))}
                # Both hubs shared the work and nothing was refused.
                self.assertEqual(sum(acc.values()), 50, acc)
                self.assertTrue(all(v >= 10 for v in acc.values()), acc)
                for cd, h in ((a, "hub-a"), (b, "hub-b")):
                    self.assertEqual(counter(cd, h, "reports-rejected"), 0)
                    self.assertEqual(counter(cd, h, "pair-peer-refused"), 0)
                    self.assertEqual(counter(cd, h, "pair-taken-over"), 0)
                # Each held the other's share and saw it confirmed.
                self.assertEqual(counter(a, "hub-a", "pair-peer-reported"),
                                 acc["hub-b"])
                self.assertEqual(counter(b, "hub-b", "pair-peer-reported"),
                                 acc["hub-a"])
                # Confirmations are batched and never loop between the hubs:
                # hub A logs its own and hub B's, fewer than one per report,
                # and no more come.
                confirmations = a.log().count("type = reported")
                self.assertGreater(confirmations, 0)
                self.assertLess(confirmations, 30)
                time.sleep(1.5)
                self.assertEqual(a.log().count("type = reported"), confirmations)
                for cd, h in ((a, "hub-a"), (b, "hub-b")):
                    self.assertNotIn("was refused", cd.log())
                    self.assertNotIn("forged", cd.plugin_log())
                    self.assertEqual(counter(cd, h, "pair-forged", "anticaptcha"), 0)
                    cd.assert_no_key()
                    cd.assert_no_key(PAIR_SECRET)

    def stop_a_and_restart(self, kill):
        with Sim() as sim:
            a, b = self.hubs(sim)
            with b, edge(self.ports) as e:
                a.start()
                try:
                    b.wait_for(paired(a, b), 15, "the hubs to pair")
                    r = Raiser(e, 8001)
                    r.start()
                    time.sleep(2)
                    # Stopped between two notifications: a report accepted in
                    # the very last milliseconds of a killed hub would go
                    # unconfirmed and be sent again by the survivor (counted
                    # as pair-peer-refused). doc/hub-pair.md says so.
                    r.pause()
                    time.sleep(0.3)
                    if kill:
                        a.proc.kill()
                        a.proc.wait()
                        a.expect_exit = None
                    else:
                        a.stop()
                    r.resume()
                    # Stopped, hub A says so; killed, it falls silent.
                    b.wait_for(lambda: "peer \"hub-a\" is down" in b.log(),
                               TIMEOUT + 5 if kill else TIMEOUT - 0.5,
                               "hub B to see hub A down")
                    time.sleep(3)
                    r.pause()
                    down = list(r.raised)
                    b.wait_for(lambda: all(t in attempts(sim) for t in down),
                               HOLD_BACK + 5, "hub B to report hub A's share")
                    self.assert_once(sim, down)
                    taken = counter(b, "hub-b", "pair-taken-over")
                    self.assertGreater(taken, 0)
                finally:
                    a.__exit__(None, None, None)

                # Hub A back, with the edge raising all along.
                a2, _ = self.hubs(sim)
                r.resume()
                with a2:
                    b.wait_for(lambda: "peer \"hub-a\" is back" in b.log(),
                               15, "hub B to see hub A back")
                    time.sleep(HOLD_BACK + 1)
                    before = counter(b, "hub-b", "pair-peer-reported")
                    accepted_a = counter(a2, "hub-a", "reports-accepted")
                    time.sleep(3)
                    r.stopped.set()
                    r.join()
                    a2.wait_for(lambda: all(t in attempts(sim) for t in r.raised),
                                HOLD_BACK + 10, "every task reported")
                    time.sleep(HOLD_BACK + 1.5)
                    self.assert_once(sim, r.raised)
                    # The pair shares again: A reports its share, B sees A's
                    # confirmations instead of sending them.
                    a2.wait_for(lambda: counter(a2, "hub-a", "reports-accepted") >
                                accepted_a, 5, "hub A to report again")
                    b.wait_for(lambda: counter(b, "hub-b", "pair-peer-reported") >
                               before, 5, "hub B to see hub A's confirmations")
                    for cd, h in ((a2, "hub-a"), (b, "hub-b")):
                        self.assertEqual(counter(cd, h, "reports-rejected"), 0)
                    self.assertEqual(counter(b, "hub-b", "pair-peer-refused"), 0)

    def test_hub_a_killed_and_restarted_at_once(self):
        """As systemd's Restart= would: hub B may not even notice."""
        with Sim() as sim:
            a, b = self.hubs(sim)
            with b, edge(self.ports) as e:
                with a:
                    b.wait_for(paired(a, b), 15, "the hubs to pair")
                    r = Raiser(e, 8501)
                    r.start()
                    time.sleep(1.5)
                    r.pause()
                    time.sleep(0.3)
                    a.proc.kill()
                    a.proc.wait()
                    a.expect_exit = None
                a2, _ = self.hubs(sim)
                with a2:
                    r.resume()
                    time.sleep(HOLD_BACK + 2)
                    r.stopped.set()
                    r.join()
                    a2.wait_for(lambda: all(t in attempts(sim) for t in r.raised),
                                HOLD_BACK + 10, "every task reported")
                    time.sleep(HOLD_BACK + 1.5)
                    self.assert_once(sim, r.raised)
                    self.assertGreater(counter(a2, "hub-a", "reports-accepted"), 0)
                    self.assertGreater(counter(a2, "hub-a", "pair-peer-reported"), 0)
                    for cd, h in ((a2, "hub-a"), (b, "hub-b")):
                        self.assertEqual(counter(cd, h, "reports-rejected"), 0)
                        self.assertEqual(counter(cd, h, "pair-peer-refused"), 0)

    def test_hub_a_sigterm(self):
        self.stop_a_and_restart(kill=False)

    def test_hub_a_sigkill(self):
        self.stop_a_and_restart(kill=True)


class Config(unittest.TestCase):
    """A bad pair configuration: one error line naming the option, and the
    plugin does not start."""

    def check_refused(self, extra, option, hostname="hub-a"):
        with Sim() as sim:
            body = hub_config(sim.http_url, "hub-b").replace(
                "PairHoldBack %d" % HOLD_BACK, "") + "\n" + extra
            code, out = plugin_config_test_with_key(body, hostname)
        errors = [l for l in out.splitlines()
                  if "anticaptcha plugin:" in l and option in l]
        self.assertNotEqual(code, 0, out)
        self.assertEqual(len(errors), 1, out)
        self.assertNotIn("hub pair: \"", out)  # the pair never started

    def test_peer_is_this_hub(self):
        self.check_refused("", '"PairPeer"', hostname="hub-b")

    def test_hold_back_longer_than_half_the_window(self):
        self.check_refused("Window 20\nPairHoldBack 11", '"PairHoldBack"')

    def test_hold_back_out_of_range(self):
        self.check_refused("PairHoldBack 31", '"PairHoldBack"')

    def test_timeout_below_a_second(self):
        self.check_refused("PairTimeout 0.2", '"PairTimeout"')

    def test_peer_without_secret_file(self):
        """Without the secret any host could speak for the peer."""
        with Sim() as sim:
            body = hub_config(sim.http_url, "hub-b").replace(
                'PairSecretFile "@TMP@/%s"' % SECRET_FILE, "")
            code, out = plugin_config_test_with_key(body, "hub-a")
        errors = [l for l in out.splitlines() if "anticaptcha plugin:" in l
                  and '"PairSecretFile"' in l and "required with PairPeer" in l]
        self.assertNotEqual(code, 0, out)
        self.assertEqual(len(errors), 1, out)
        self.assertNotIn("hub pair: \"", out)

    def test_secret_too_short(self):
        code, out = self.secret_file_test("too-short-a-secret")
        self.assertNotEqual(code, 0, out)
        self.assertIn("the secret has 18 characters; give 32 to 256", out)
        self.assertNotIn("too-short-a-secret", out)

    def test_secret_through_a_link(self):
        code, out = self.secret_file_test(PAIR_SECRET, link=True)
        self.assertNotEqual(code, 0, out)
        self.assertIn('"PairSecretFile"', out)
        self.assertIn("symbolic link", out)

    def test_loose_secret_file_warns(self):
        code, out = self.secret_file_test(PAIR_SECRET, mode=0o644)
        self.assertIn('option "PairSecretFile": ', out)
        self.assertIn("may be read by group or others; make it mode 0600", out)
        self.assertIn('hub pair: "hub-a" with peer "hub-b"', out)
        self.assertNotIn(PAIR_SECRET, out)

    def secret_file_test(self, secret, link=False, mode=0o600):
        """collectd -T with PairSecretFile holding `secret` (through a
        symbolic link with link, with the given mode)."""
        with Sim() as sim:
            return plugin_config_test_with_key(
                hub_config(sim.http_url, "hub-b"), "hub-a", secret=secret,
                link=link, mode=mode)

    def test_hold_back_within_window(self):
        with Sim() as sim:
            body = hub_config(sim.http_url, "hub-b") + "\nWindow 20"
            code, out = plugin_config_test_with_key(
                body.replace("PairHoldBack %d" % HOLD_BACK, "PairHoldBack 10"),
                "hub-a")
        self.assertIn('hub pair: "hub-a" with peer "hub-b"', out)


def plugin_config_test_with_key(body, hostname, secret=PAIR_SECRET,
                                link=False, mode=0o600):
    """collectd -T with the key file and the pair's secret file in place
    (plugin_config_test writes no files: the body reads them from paths
    given here)."""
    d = make_tmpdir("ac-pairkey-")
    try:
        key = os.path.join(d, KEY_FILE)
        with open(key, "w") as f:
            f.write(TEST_KEY + "\n")
        os.chmod(key, 0o600)
        path = os.path.join(d, SECRET_FILE)
        with open(path + ".real", "w") as f:
            f.write(secret + "\n")
        os.chmod(path + ".real", mode)
        if link:
            os.symlink(path + ".real", path)
        else:
            os.rename(path + ".real", path)
        body = body.replace("@TMP@/" + KEY_FILE, key).replace(
            "@TMP@/" + SECRET_FILE, path)
        return plugin_config_test(body, global_config='Hostname "%s"' % hostname)
    finally:
        remove_tmpdir(d)


class Messages(unittest.TestCase):
    """Pair messages are never report requests, whatever the rules, and a
    pair hub ignores those of a host that is not its peer."""

    def test_unpaired_hub_ignores_pair_messages(self):
        rule = ('<Report "any">\n  Plugin "anticaptcha"\n'
                '  Method "reportIncorrectRecaptcha"\n</Report>')
        with Sim() as sim, Collectd(
                hub_config(sim.http_url, "x").split("  PairPeer")[0] + rule,
                files=KEY_FILES) as cd:
            for t, ti in (("reported", "9001"), ("pair", "paired"),
                          ("reported", "")):
                cd.putnotif("okay", message="9002 9003", plugin="anticaptcha",
                            plugin_instance="main", type=t, type_instance=ti,
                            host="hub-b")
            # The rule still works for anything else: proof it was live.
            cd.putnotif("failure", message="x", plugin="anticaptcha",
                        plugin_instance="main", type="other",
                        type_instance="9004")
            cd.wait_for(lambda: attempts(sim), 10, "the rule's report")
            time.sleep(1)
            self.assertEqual(list(attempts(sim)), [9004])
            self.assertNotIn("ignoring a report request", cd.log())

    def test_stranger_is_ignored_once(self):
        with Sim() as sim:
            a = hub("hub-a", "hub-b", sim.http_url, udp_port(), udp_port())
            with a:
                for _ in range(3):
                    a.putnotif("okay", message="1 2 3", plugin="anticaptcha",
                               plugin_instance="main", type="reported",
                               host="hub-z")
                a.wait_for(lambda: "from \"hub-z\"" in a.log(), 10,
                           "the warning")
                time.sleep(0.5)
                self.assertEqual(a.log().count("ignoring pair messages from"), 1)
                # A confirmation with a bad id list, signed by the peer: one
                # warning.
                send_packet(b_port(a), signed_packet(
                    "hub-b", "reported", "1 x", plugin_instance="main"))
                a.wait_for(lambda: "not a list of task ids" in a.log(), 10,
                           "the bad-message warning")


def owner(account, task_id):
    """plugin/hub_pair.c's pair_owner(): 0 is the hub whose name sorts first."""
    h = 0xcbf29ce484222325
    for byte in account.encode() + task_id.to_bytes(8, "little"):
        h = ((h ^ byte) * 0x100000001b3) & (2 ** 64 - 1)
    return ((h * 0x9E3779B97F4A7C15) & (2 ** 64 - 1)) >> 63


class Survivor(unittest.TestCase):
    """Hub B alone (hub A never started): it reports hub A's share too, and
    an "already reported" answer to a report it took over is the peer's
    work, not a refusal."""

    def test_peer_refusals_counted_apart(self):
        with Sim() as sim:
            b = hub("hub-b", "hub-a", sim.http_url, udp_port(), udp_port())
            with b, edge([b_port(b)]) as e:
                b.wait_for(lambda: 'peer "hub-a" is down' in b.log(),
                           TIMEOUT + 5, "hub B to give hub A up")
                sim.faults([{"method": "*", "action": "error", "errorId": 16,
                             "errorCode": "ERROR_NO_SUCH_CAPCHA_ID"}])
                tasks = list(range(9101, 9121))
                theirs = [t for t in tasks if owner("main", t) == 0]
                ours = [t for t in tasks if owner("main", t) == 1]
                self.assertTrue(theirs and ours)
                for t in tasks:
                    raise_task(e, t)
                b.wait_for(lambda: len(attempts(sim)) >= len(tasks), 10,
                           "every task sent at once")
                b.wait_counts(lambda n: counter(b, "hub-b", n), {
                    "pair-peer-refused": len(theirs),
                    "reports-rejected": len(ours),
                    "pair-taken-over": len(theirs), "reports-accepted": 0})

    def test_restored_reports_are_the_peers_work(self):
        """Reports of hub B's own share left pending at a restart (API
        failing) come back from the state file; hub A reported them while B
        was down, so their "already reported" is not a refusal."""
        with Sim() as sim:
            b = hub("hub-b", "hub-a", sim.http_url, udp_port(), udp_port())
            with b:
                b.wait_for(lambda: 'peer "hub-a" is down' in b.log(),
                           TIMEOUT + 5, "hub B to give hub A up")
                sim.faults([{"method": "*", "action": "http", "status": 503}])
                ours = [t for t in range(9201, 9241) if owner("main", t) == 1]
                for t in ours:
                    raise_task(b, t)
                b.wait_for(lambda: "%d report(s)" % len(ours) in
                           read_state_summary(b), 10, "the state file")

                def peer_reported_them():
                    # While B is down: hub A reported them.
                    sim.clear_faults()
                    sim.faults([{"method": "*", "action": "error",
                                 "errorId": 16,
                                 "errorCode": "ERROR_NO_SUCH_CAPCHA_ID"}])

                b.restart(before_start=peer_reported_them)
                self.assertIn("%d report(s) resumed" % len(ours), b.log())
                # A report whose attempt may have got through before the
                # restart counts as unconfirmed (doc/state-file.md); every
                # other one is the peer's: pair-peer-refused.
                def answered():
                    return (counter(b, "hub-b", "pair-peer-refused"),
                            counter(b, "hub-b", "reports-unconfirmed"))

                try:
                    b.wait_for(lambda: sum(answered()) == len(ours), 15,
                               "the restored reports answered")
                except AssertionError as e:
                    raise AssertionError(
                        "%s\n(peer-refused, unconfirmed) = %r of %d; the "
                        "sim's answers per task: %r" % (
                            e, answered(), len(ours),
                            {t: a for t, a in attempts(sim).items()
                             if t in ours})) from None
                self.assertGreater(counter(b, "hub-b", "pair-peer-refused"), 0)
                self.assertEqual(counter(b, "hub-b", "reports-rejected"), 0)


def read_state_summary(cd):
    """'N report(s)' for the reports hub cd's state file holds."""
    pending, _ = read_state_file(os.path.join(cd.dir, "anticaptcha.state"))
    return "%d report(s)" % len(pending)


def b_port(cd):
    return int(re.search(r'Listen "127.0.0.1" "(\d+)"', cd.conf_text).group(1))


def cd_host(cd):
    # The harness writes Hostname "testhost"; ours comes later and wins.
    return re.findall(r'^Hostname "([^"]+)"', cd.conf_text, re.M)[-1]


if __name__ == "__main__":
    runner.main()
