"""collectd -T with the real daemon: every drop-in of conf.d/ loads with the
key filled in, and each bad configuration makes the plugin refuse to load
with one error line naming the account and the option."""

import glob
import os
import re
import shutil
import unittest

from harness import (Sim, TEST_KEY, STOCK_PLUGIN_DIR, assert_no_key_in,
                     free_port, make_tmpdir, plugin_build_dir,
                     plugin_config_test, remove_tmpdir, run_config_test)
import runner

REPO = os.environ.get("ANTICAPTCHA_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
CONF_D = os.path.join(REPO, "conf.d")


def error_lines(output):
    return [l for l in output.splitlines() if "anticaptcha plugin:" in l
            and ("error" in l.lower())]


class DropIns(unittest.TestCase):

    def test_every_conf_d_file_loads(self):
        files = sorted(glob.glob(os.path.join(CONF_D, "*.conf")))
        self.assertTrue(files)
        with Sim() as sim:
            for path in files:
                with self.subTest(file=os.path.basename(path)):
                    self.check_drop_in(path, sim)

    def check_drop_in(self, path, sim):
        tmp = make_tmpdir("ac-dropin-")
        try:
            # Like /etc/collectd: one plugin directory holding the stock
            # plugins the drop-in loads and ours (copies: no symlinks).
            plugins = os.path.join(tmp, "plugins")
            os.makedirs(plugins)
            with open(path) as f:
                text = f.read()
            for name in set(re.findall(r"^\s*LoadPlugin\s+\"?(\w+)", text, re.M)) | {"logfile"}:
                src = (os.path.join(plugin_build_dir(), "anticaptcha.so")
                       if name == "anticaptcha"
                       else os.path.join(STOCK_PLUGIN_DIR, name + ".so"))
                shutil.copy(os.path.realpath(src), os.path.join(plugins, name + ".so"))
            key = os.path.join(tmp, "anticaptcha.key")
            with open(key, "w") as f:
                f.write(TEST_KEY + "\n")
            os.chmod(key, 0o600)
            # What a user edits: the key file path and, here, the URL.
            text = text.replace("/etc/collectd/anticaptcha.key", key)
            text = re.sub(r'^(\s*)#?\s*URL "https://api.anti-captcha.com"',
                          r'\1URL "%s"' % sim.http_url, text, flags=re.M)
            text = text.replace("/var/log/solver/results.log",
                                os.path.join(tmp, "results.log"))
            # The hub pair's: its secret file, and this machine's addresses
            # (a free port to listen on) for the private network's.
            secret = os.path.join(tmp, "anticaptcha-pair.secret")
            with open(secret, "w") as f:
                f.write("0123456789abcdef" * 4 + "\n")
            os.chmod(secret, 0o600)
            text = text.replace("/etc/collectd/anticaptcha-pair.secret", secret)
            text = re.sub(r'Listen "10\.0\.0\.\d+" "25826"',
                          'Listen "127.0.0.1" "%d"' % free_port(), text)
            text = re.sub(r'Server "10\.0\.0\.(\d+)"', r'Server "127.0.0.\1"',
                          text)
            open(os.path.join(tmp, "results.log"), "w").close()
            drop_in = os.path.join(tmp, os.path.basename(path))
            with open(drop_in, "w") as f:
                f.write(text)
            extra = ""
            if "<Account" not in text:  # rules only: the account lives elsewhere
                extra = ('<Plugin anticaptcha>\n <Account "main">\n'
                         '  ClientKeyFile "%s"\n  URL "%s"\n </Account>\n</Plugin>\n'
                         % (key, sim.http_url))
                shutil.copy(os.path.realpath(os.path.join(plugin_build_dir(),
                                                          "anticaptcha.so")),
                            os.path.join(plugins, "anticaptcha.so"))
                extra = "LoadPlugin anticaptcha\n" + extra
            conf = os.path.join(tmp, "collectd.conf")
            with open(conf, "w") as f:
                f.write('Hostname "testhost"\nFQDNLookup false\nInterval 1\n'
                        'BaseDir "%s"\nPIDFile "%s/pid"\nPluginDir "%s"\n'
                        'TypesDB "/usr/share/collectd/types.db"\n'
                        'LoadPlugin logfile\n<Plugin logfile>\n  File STDERR\n'
                        '  LogLevel info\n</Plugin>\n%sInclude "%s"\n'
                        % (tmp, tmp, plugins, extra, drop_in))
            code, out = run_config_test(conf)
            self.assertEqual(code, 0, out)
            self.assertIn("anticaptcha plugin: version", out)
            self.assertEqual(error_lines(out), [])
            assert_no_key_in(out)
        finally:
            remove_tmpdir(tmp)


class BadConfig(unittest.TestCase):
    """Each one: collectd -T fails, one error line names account and option."""

    CASES = [
        ("missing key", '<Account "a">\n URL "http://127.0.0.1:9"\n</Account>',
         'Account "a"', "ClientKey"),
        ("both key options",
         '<Account "a">\n ClientKey "%s"\n ClientKeyFile "@TMP@/k"\n</Account>' % TEST_KEY,
         'Account "a"', "ClientKeyFile"),
        ("unreadable key file",
         '<Account "a">\n ClientKeyFile "@TMP@/missing.key"\n</Account>',
         'Account "a"', "ClientKeyFile"),
        ("empty key", '<Account "a">\n ClientKey ""\n</Account>',
         'Account "a"', "ClientKey"),
        ("unknown option",
         '<Account "a">\n ClientKey "%s"\n Colour "blue"\n</Account>' % TEST_KEY,
         'Account "a"', "Colour"),
        ("plain http to another host",
         '<Account "a">\n ClientKey "%s"\n URL "http://api.anti-captcha.com"\n</Account>'
         % TEST_KEY, 'Account "a"', "URL"),
        ("bad URL scheme",
         '<Account "a">\n ClientKey "%s"\n URL "ftp://127.0.0.1"\n</Account>' % TEST_KEY,
         'Account "a"', "URL"),
        ("duplicate account",
         '<Account "a">\n ClientKey "%s"\n</Account>\n<Account "a">\n ClientKey "%s"\n'
         '</Account>' % (TEST_KEY, TEST_KEY), 'Account "a"', "Account"),
        ("non-positive interval",
         '<Account "a">\n ClientKey "%s"\n Interval 0\n</Account>' % TEST_KEY,
         'Account "a"', "Interval"),
        ("window over 60 s",
         '<Account "a">\n ClientKey "%s"\n</Account>\nWindow 61' % TEST_KEY,
         "Plugin anticaptcha", "Window"),
        ("rule without method",
         '<Account "a">\n ClientKey "%s"\n</Account>\n<Report "r">\n Plugin "x"\n</Report>'
         % TEST_KEY, 'Report "r"', "Method"),
    ]

    def test_each_bad_config_refuses_to_load(self):
        for name, config, where, option in self.CASES:
            with self.subTest(case=name):
                code, out = plugin_config_test(config)
                self.assertNotEqual(code, 0, out)
                lines = error_lines(out)
                self.assertEqual(len(lines), 1, out)
                self.assertIn(where, lines[0])
                self.assertIn('option "%s"' % option, lines[0])
                assert_no_key_in(out)


if __name__ == "__main__":
    runner.main()
