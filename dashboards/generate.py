#!/usr/bin/env python3
"""Writes the three Grafana dashboards of dashboards/ (graphite.json,
influxdb.json, prometheus.json) from one description: the same panels, titles
and layout for each back end, with each back end's queries.

    python3 dashboards/generate.py          # (re)write the JSON files
    python3 dashboards/generate.py --check  # exit 1 if they differ

The JSON files are what users import and what the tests read
(tests/integration/test_dashboards.py runs every panel's query against the
real back ends; tests/dashboards/ checks them against Grafana's schema).
Edit this script, run it, commit both. Python standard library only."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

OUTCOMES = ("sent", "accepted", "rejected", "expired", "duplicate", "dropped",
            "retried", "abandoned", "throttled", "paused", "withheld",
            "unconfirmed")

BACKENDS = {
    "graphite": {"name": "Graphite", "input": "DS_GRAPHITE"},
    "influxdb": {"name": "InfluxDB", "input": "DS_INFLUXDB"},
    "prometheus": {"name": "Prometheus", "input": "DS_PROMETHEUS"},
}

# Grafana versions whose published schema (@grafana/schema) the dashboards
# are checked against (tests/dashboards/); the oldest is the one __requires
# names.
GRAFANA_MIN = "11.6.0"
SCHEMA_VERSION = 39

# Every query asks for at most this many points per series; the Prometheus
# targets set a minimum step ("interval") that this many points over the
# panel's default range never go below, so the step is the one written.
MAX_POINTS = 1440

# ---------------------------------------------------------------------------
# Queries. Graphite paths: write_graphite's defaults,
# <prefix><host>.anticaptcha-<account>.<type>-<type instance> (doc/writers.md);
# InfluxDB 1.x: the collectd input's measurement anticaptcha_value; Prometheus:
# write_prometheus's collectd_anticaptcha_<type> with the labels anticaptcha
# (account), type (type instance) and instance (host).
# ---------------------------------------------------------------------------

G = "${prefix}*.anticaptcha-$account."      # an account's values
GQ = "${prefix}*.anticaptcha-queues."        # <QueueStats>
GP = "${prefix}*.anticaptcha."               # plugin-wide values
G_ACCT = r"^.*anticaptcha-([^.]+)\."         # captures the account
G_HOST = r"^.*?([^.(]+)\.anticaptcha\."      # captures the host


def g_alias(target, pattern, replace):
    return 'aliasSub(%s, "%s", "%s")' % (target, pattern, replace)


def g_hourly(series):
    """Counts per hour from write_graphite's rates (StoreRates true)."""
    return 'hitcount(%s, "1h", true)' % series


M = '"anticaptcha_value"'
I_ACCT = '"instance" =~ /^$account$/'


def i_diff_sum(where, group, by_hour=True):
    """The increase of counters: sum of the differences of the stored
    counts (the collectd input keeps derive values as counts)."""
    return ('SELECT sum("d") FROM (SELECT non_negative_difference("value") AS "d" '
            'FROM %s WHERE %s AND $timeFilter GROUP BY %s) WHERE $timeFilter '
            'GROUP BY %s%s fill(none)'
            % (M, where, group, "time(1h), " if by_hour else "", group))


P_ACCT = 'anticaptcha=~"$account"'


def p_queue(metric, suffix, inner=None):
    """A per-queue series with the queue as label `queue`."""
    sel = '%s{%s, type=~"($queue)-%s"}' % (metric, P_ACCT, suffix)
    return 'label_replace(%s, "queue", "$1", "type", "(.+)-%s")' % (
        inner % sel if inner else sel, suffix)


def graphite(target):
    return {"target": target}


def influx(query, alias):
    return {"query": query, "rawQuery": True, "resultFormat": "time_series",
            "alias": alias}


def prom(expr, legend, interval="1m", instant=False):
    t = {"expr": expr, "legendFormat": legend, "range": not instant,
         "instant": instant, "editorMode": "code"}
    if not instant:
        t["interval"] = interval
    return t


OUTCOME_GLOB = "{%s}" % ",".join(OUTCOMES)


def per_queue_hourly(ctype, suffix):
    """Each hourly record (<type>-<queue>-<suffix>) per account and queue."""
    return {
        "graphite": [graphite(g_alias("%s%s-$queue-%s" % (G, ctype, suffix),
                                      G_ACCT + r"%s-(.+)-%s$" % (ctype, suffix), r"\1 \2"))],
        "influxdb": [influx('SELECT sum("value") FROM %s WHERE "type" = \'%s\' AND %s AND '
                            '"type_instance" =~ /^$queue-%s$/ AND $timeFilter '
                            'GROUP BY time(1h), "instance", "type_instance" fill(none)'
                            % (M, ctype, I_ACCT, suffix), "$tag_instance $tag_type_instance")],
        "prometheus": [prom(p_queue("collectd_anticaptcha_" + ctype, suffix),
                            "{{anticaptcha}} {{queue}}")],
    }


def per_account(ctype, ti, stat, name=""):
    """One series per account, <type>-<type instance>: a stat panel's last
    value (an instant query for Prometheus), or every point. `name`: what
    the legend adds to the account."""
    last = 'last("value")' if stat else '"value"'
    return {
        "graphite": [graphite(g_alias("%s%s-%s" % (G, ctype, ti),
                                      G_ACCT + "%s-%s$" % (ctype, ti), r"\1" + name))],
        "influxdb": [influx('SELECT %s FROM %s WHERE "type" = \'%s\' AND "type_instance" = \'%s\' '
                            'AND %s AND $timeFilter GROUP BY "instance"'
                            % (last, M, ctype, ti, I_ACCT), "$tag_instance" + name)],
        "prometheus": [prom('collectd_anticaptcha_%s{%s, type="%s"}' % (ctype, P_ACCT, ti),
                            "{{anticaptcha}}" + name, instant=stat)],
    }


def queue_figure(ctype, figure):
    """<QueueStats>' <type>-<queue>-<figure>, one series per queue."""
    return {
        "graphite": [graphite(g_alias("%s%s-*-%s" % (GQ, ctype, figure),
                                      r"^.*\.%s-(.+)-%s$" % (ctype, figure), r"\1"))],
        "influxdb": [influx('SELECT "value" FROM %s WHERE "instance" = \'queues\' AND '
                            '"type" = \'%s\' AND "type_instance" =~ /-%s$/ AND $timeFilter '
                            'GROUP BY "type_instance"' % (M, ctype, figure), "$tag_type_instance")],
        "prometheus": [prom('label_replace(collectd_anticaptcha_%s{anticaptcha="queues", '
                            'type=~".+-%s"}, "queue", "$1", "type", "(.+)-%s")'
                            % (ctype, figure, figure), "{{queue}}")],
    }


def joined(*queries):
    """The targets of several query sets, in order, per back end."""
    return {k: [t for q in queries for t in q[k]] for k in BACKENDS}


QUERIES = {
    "balance": per_account("gauge", "balance", stat=True),
    "hours_left": per_account("timeleft", "balance_hours", stat=True),
    "money_24h": {
        "graphite": [graphite(g_alias(G + "gauge-$queue-money_24h", G_ACCT + r"gauge-(.+)-money_24h$",
                                      r"\1 \2"))],
        "influxdb": [influx('SELECT last("value") FROM %s WHERE "type" = \'gauge\' AND %s AND '
                            '"type_instance" =~ /^$queue-money_24h$/ AND $timeFilter '
                            'GROUP BY "instance", "type_instance"' % (M, I_ACCT),
                            "$tag_instance $tag_type_instance")],
        "prometheus": [prom(p_queue("collectd_anticaptcha_gauge", "money_24h"),
                            "{{anticaptcha}} {{queue}}", instant=True)],
    },
    "money_hourly": per_queue_hourly("gauge", "money_1h"),
    "tasks_hourly": per_queue_hourly("count", "volume_1h"),
    "cost_per_1000": {
        # Money and tasks sorted alike (by account, then queue), divided
        # pairwise.
        "graphite": [graphite(g_alias(
            "scale(divideSeriesLists(sortByName(%sgauge-$queue-money_1h), "
            "sortByName(%scount-$queue-volume_1h)), 1000)" % (G, G),
            G_ACCT + r"gauge-([^,]+)-money_1h,.*$", r"\1 \2"))],
        # InfluxQL cannot pair two series by a part of a tag: one panel per
        # queue (repeated), money and tasks of that queue side by side.
        "influxdb": [influx(
            'SELECT 1000 * sum("money") / sum("volume") FROM '
            '(SELECT "value" AS "money" FROM %(m)s WHERE "type_instance" = \'$queue-money_1h\' '
            'AND %(a)s AND $timeFilter GROUP BY "instance"), '
            '(SELECT "value" AS "volume" FROM %(m)s WHERE "type_instance" = \'$queue-volume_1h\' '
            'AND %(a)s AND $timeFilter GROUP BY "instance") '
            'WHERE $timeFilter GROUP BY time(1h), "instance" fill(none)' % {"m": M, "a": I_ACCT},
            "$tag_instance $queue")],
        "prometheus": [prom(
            "1000 * %s / on (instance, anticaptcha, queue) %s"
            % (p_queue("collectd_anticaptcha_gauge", "money_1h"),
               p_queue("collectd_anticaptcha_count", "volume_1h")),
            "{{anticaptcha}} {{queue}}")],
    },
    "money_daily": {
        "graphite": [graphite(g_alias('summarize(%sgauge-$queue-money_1h, "1d", "sum", false)' % G,
                                      G_ACCT + r"gauge-(.+)-money_1h.*$", r"\1 \2"))],
        "influxdb": [influx('SELECT sum("value") FROM %s WHERE "type" = \'gauge\' AND %s AND '
                            '"type_instance" =~ /^$queue-money_1h$/ AND $timeFilter '
                            'GROUP BY time(1d), "instance", "type_instance" fill(none)' % (M, I_ACCT),
                            "$tag_instance $tag_type_instance")],
        # Prometheus keeps no hourly history (write_prometheus exposes the
        # last hour only): each day shows the last 24 hours' money of the
        # day's last poll.
        "prometheus": [prom(p_queue("collectd_anticaptcha_gauge", "money_24h",
                                    "last_over_time(%s[$__interval])"),
                            "{{anticaptcha}} {{queue}}", interval="1d")],
    },
    "balance_forecast": joined(per_account("gauge", "balance", False, " balance"),
                               per_account("timeleft", "balance_hours", False, " hours left")),
    "reports_hourly": {
        "graphite": [graphite(g_alias(g_hourly(G + "derive-reports-" + OUTCOME_GLOB),
                                      G_ACCT + r"derive-reports-([a-z]+).*$", r"\1 \2"))],
        "influxdb": [influx(i_diff_sum('"type" = \'derive\' AND %s AND '
                                       '"type_instance" =~ /^reports-[a-z]+$/' % I_ACCT,
                                       '"instance", "type_instance"'),
                            "$tag_instance $tag_type_instance")],
        "prometheus": [prom('label_replace(increase(collectd_anticaptcha_derive_total{%s, '
                            'type=~"reports-[a-z]+"}[$__interval]), "outcome", "$1", "type", '
                            '"reports-(.+)")' % P_ACCT,
                            "{{anticaptcha}} {{outcome}}", interval="1h")],
    },
    "reports_by_method": {
        "graphite": [graphite(g_alias(g_hourly(G + "derive-reports-report*-*"),
                                      G_ACCT + r"derive-reports-(report[A-Za-z]+)-([a-z]+).*$",
                                      r"\1 \2 \3"))],
        "influxdb": [influx(i_diff_sum('"type" = \'derive\' AND %s AND '
                                       '"type_instance" =~ /^reports-report[A-Za-z]+-[a-z]+$/' % I_ACCT,
                                       '"instance", "type_instance"', by_hour=False),
                            "$tag_instance $tag_type_instance")],
        "prometheus": [prom('label_replace(increase(collectd_anticaptcha_derive_total{%s, '
                            'type=~"reports-report[A-Za-z]+-[a-z]+"}[$__range]), "method", "$1 $2", '
                            '"type", "reports-(report[A-Za-z]+)-([a-z]+)")' % P_ACCT,
                            "{{anticaptcha}} {{method}}", instant=True)],
    },
    "invalid": {
        "graphite": [graphite(g_alias(g_hourly(GP + "derive-notifications-invalid"),
                                      G_HOST + "derive-notifications-invalid.*$", r"\1"))],
        "influxdb": [influx(i_diff_sum('"type_instance" = \'notifications-invalid\'', '"host"',
                                       by_hour=False), "$tag_host")],
        "prometheus": [prom('increase(collectd_anticaptcha_derive_total{anticaptcha='
                            '"notifications-invalid"}[$__range])', "{{instance}}", instant=True)],
    },
    "sender_state": {
        # The worst state of each stretch of points, however long the range.
        "graphite": [graphite(g_alias('consolidateBy(%sgauge-reports-state, "max")' % G,
                                      G_ACCT + "gauge-reports-state.*$", r"\1"))],
        "influxdb": [influx('SELECT "value" FROM %s WHERE "type" = \'gauge\' AND '
                            '"type_instance" = \'reports-state\' AND %s AND $timeFilter '
                            'GROUP BY "instance"' % (M, I_ACCT), "$tag_instance")],
        "prometheus": [prom('collectd_anticaptcha_gauge{%s, type="reports-state"}' % P_ACCT,
                            "{{anticaptcha}}")],
    },
    "response_time": {
        "graphite": [
            graphite(g_alias(G + "response_time-*", G_ACCT + r"response_time-(.+)$", r"\1 \2")),
            graphite(g_alias(GQ + "response_time-*", G_ACCT + r"response_time-(.+)$", r"\1 \2")),
        ],
        "influxdb": [influx('SELECT "value" FROM %s WHERE "type" = \'response_time\' AND '
                            '("instance" =~ /^$account$/ OR "instance" = \'queues\') AND $timeFilter '
                            'GROUP BY "instance", "type_instance"' % M,
                            "$tag_instance $tag_type_instance")],
        "prometheus": [prom('collectd_anticaptcha_response_time{anticaptcha=~"$account|queues"}',
                            "{{anticaptcha}} {{type}}")],
    },
    "failures": {
        # The largest rate of each stretch of points: a failure stays visible
        # however long the range.
        "graphite": [
            graphite(g_alias('consolidateBy(scale(%sderive-*-failures, 60), "max")' % g,
                             G_ACCT + r"derive-(.+)-failures.*$", r"\1 \2"))
            for g in (G, GQ)
        ],
        "influxdb": [influx('SELECT non_negative_derivative("value", 1m) FROM %s WHERE '
                            '"type" = \'derive\' AND ("instance" =~ /^$account$/ OR "instance" = '
                            '\'queues\') AND "type_instance" =~ /-failures$/ AND $timeFilter '
                            'GROUP BY "instance", "type_instance"' % M,
                            "$tag_instance $tag_type_instance")],
        "prometheus": [prom('60 * label_replace(rate(collectd_anticaptcha_derive_total{'
                            'anticaptcha=~"$account|queues", type=~".+-failures"}[$__rate_interval]), '
                            '"method", "$1", "type", "(.+)-failures")',
                            "{{anticaptcha}} {{method}}")],
    },
    "queue_load": queue_figure("percent", "load"),
    "queue_bid": queue_figure("gauge", "bid"),
    "pair_peer": {
        "graphite": [graphite(g_alias('consolidateBy(%sgauge-pair-peer-up, "min")' % GP,
                                      G_HOST + "gauge-pair-peer-up.*$", r"\1"))],
        "influxdb": [influx('SELECT "value" FROM %s WHERE "type_instance" = \'pair-peer-up\' AND '
                            '$timeFilter GROUP BY "host"' % M, "$tag_host")],
        "prometheus": [prom('collectd_anticaptcha_gauge{anticaptcha="pair-peer-up"}',
                            "{{instance}}")],
    },
    "pair_reports": {
        "graphite": [
            graphite(g_alias(g_hourly(G + "derive-pair-{taken-over,peer-reported,peer-refused}"),
                             G_ACCT + r"derive-pair-([a-z-]+).*$", r"\1 \2")),
            graphite(g_alias(g_hourly(GP + "derive-pair-unconfirmed"),
                             G_HOST + "derive-pair-unconfirmed.*$", r"\1 unconfirmed")),
            graphite(g_alias(GP + "gauge-pair-held", G_HOST + "gauge-pair-held$", r"\1 held")),
        ],
        "influxdb": [
            influx(i_diff_sum('"type" = \'derive\' AND %s AND "type_instance" =~ '
                              '/^pair-(taken-over|peer-reported|peer-refused)$/' % I_ACCT,
                              '"instance", "type_instance"'),
                   "$tag_instance $tag_type_instance"),
            influx(i_diff_sum('"type_instance" = \'pair-unconfirmed\'', '"host"'),
                   "$tag_host unconfirmed"),
            influx('SELECT "value" FROM %s WHERE "type_instance" = \'pair-held\' AND $timeFilter '
                   'GROUP BY "host"' % M, "$tag_host held"),
        ],
        "prometheus": [
            prom('label_replace(increase(collectd_anticaptcha_derive_total{%s, type=~"pair-.+"}'
                 '[$__interval]), "counter", "$1", "type", "pair-(.+)")' % P_ACCT,
                 "{{anticaptcha}} {{counter}}", interval="1h"),
            prom('increase(collectd_anticaptcha_derive_total{anticaptcha="pair-unconfirmed"}'
                 '[$__interval])', "{{instance}} unconfirmed", interval="1h"),
            prom('collectd_anticaptcha_gauge{anticaptcha="pair-held"}', "{{instance}} held"),
        ],
    },
}

# Grafana's renameByRegex on the InfluxDB panels: the series names say
# "<account> <type instance>"; these keep the part that matters, so that the
# three dashboards name every series alike ("main recaptcha_proxyless").
INFLUX_RENAME = {
    "money_24h": (r"^(\S+) (.+)-money_24h$", "$1 $2"),
    "money_hourly": (r"^(\S+) (.+)-money_1h$", "$1 $2"),
    "money_daily": (r"^(\S+) (.+)-money_1h$", "$1 $2"),
    "tasks_hourly": (r"^(\S+) (.+)-volume_1h$", "$1 $2"),
    "reports_hourly": (r"^(\S+) reports-(.+)$", "$1 $2"),
    "reports_by_method": (r"^(\S+) reports-(report[A-Za-z]+)-(.+)$", "$1 $2 $3"),
    "failures": (r"^(\S+) (.+)-failures$", "$1 $2"),
    "queue_load": (r"^(.+)-load$", "$1"),
    "queue_bid": (r"^(.+)-bid$", "$1"),
    "pair_reports": (r"^(\S+) pair-(.+)$", "$1 $2"),
}

# ---------------------------------------------------------------------------
# Panels: the same for every back end.
# ---------------------------------------------------------------------------

SENDER_STATES = [("0", "open", "green"), ("1", "backing off", "yellow"),
                 ("2", "waiting (Retry-After)", "orange"), ("3", "paused", "red")]
PEER_STATES = [("0", "down", "red"), ("1", "up", "green")]


def value_mappings(states):
    return [{"type": "value", "options": {
        v: {"text": text, "color": color, "index": i}
        for i, (v, text, color) in enumerate(states)}}]


def thresholds(*steps):
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in steps]}


LEGEND_TABLE = {"displayMode": "table", "placement": "right", "showLegend": True}
TOOLTIP = {"mode": "multi", "sort": "desc"}

# (key, title, type, width, height, unit, description, extra)
PANELS = [
    ("row", "Spending"),
    ("balance", "Balance", "stat", 6, 5, "currencyUSD",
     "The account's balance (getBalance), per account.",
     {"thresholds": thresholds((None, "red"), (2, "orange"), (10, "green"))}),
    ("hours_left", "Hours left", "stat", 6, 5, "h",
     "The balance forecast: hours the balance lasts at the last 24 hours' spending "
     "rate (timeleft-balance_hours).",
     {"thresholds": thresholds((None, "red"), (48, "orange"), (168, "green"))}),
    ("money_24h", "Money, last 24 hours", "stat", 12, 5, "currencyUSD",
     "USD spent over the last 24 hourly records, per account and queue "
     "(money_24h; queue all: every queue together).", {}),
    ("money_hourly", "Money per queue and hour", "timeseries", 12, 9, "currencyUSD",
     "USD of each hourly record (money_1h), per account and queue.",
     {"draw": "bars", "calcs": ["sum", "max"]}),
    ("tasks_hourly", "Tasks per queue and hour", "timeseries", 12, 9, "short",
     "Tasks of each hourly record (volume_1h), per account and queue.",
     {"draw": "bars", "calcs": ["sum", "max"]}),
    ("cost_per_1000", "Cost per 1,000 tasks", "timeseries", 12, 9, "currencyUSD",
     "USD per 1,000 tasks of each hour: money_1h / volume_1h × 1000.",
     {"calcs": ["mean", "max"], "repeat_influxdb": "queue"}),
    ("money_daily", "Money per queue and day, last 30 days", "timeseries", 12, 9, "currencyUSD",
     "USD per day (UTC) over the last 30 days, per account and queue.",
     {"draw": "bars", "calcs": ["sum", "max"], "timeFrom": "30d"}),
    ("balance_forecast", "Balance and hours left", "timeseries", 24, 8, "currencyUSD",
     "The balance (USD, left axis) and the forecast (hours left, right axis).",
     {"calcs": ["lastNotNull", "min"], "hours_right": True}),
    ("row", "Reports"),
    ("reports_hourly", "Reports per hour by outcome", "timeseries", 12, 9, "short",
     "Report requests per hour and outcome (derive-reports-<outcome>): accepted, "
     "rejected, expired, duplicate, withheld, paused... sent counts every request "
     "made, retries included.",
     {"draw": "bars", "calcs": ["sum"]}),
    ("reports_by_method", "Reports by method and outcome", "bargauge", 8, 9, "short",
     "Report requests in the time range per report method and outcome "
     "(derive-reports-<method>-<outcome>).", {"calcs": ["sum"]}),
    ("invalid", "Invalid report requests", "stat", 4, 9, "short",
     "Report notifications refused as malformed (bad task id, unknown account...) "
     "in the time range, per collectd host.", {"calcs": ["sum"]}),
    ("sender_state", "Report sender state", "state-timeline", 24, 5, "none",
     "Per account: open, backing off (transient failures: one probe at a time), "
     "waiting (the server sent Retry-After) or paused (an account-level API error).",
     {"mappings": SENDER_STATES}),
    ("row", "API"),
    ("response_time", "API response time", "timeseries", 12, 8, "s",
     "Mean seconds per request in the last poll, per account and method "
     "(queues: getQueueStats).", {"calcs": ["mean", "max"]}),
    ("failures", "API failures per minute", "timeseries", 12, 8, "short",
     "Failed requests per minute (API error, transport, HTTP, bad body), per account "
     "and method (queues: getQueueStats).", {"calcs": ["max"]}),
    ("row", "Queue statistics (<QueueStats>)"),
    ("queue_load", "Queue load", "timeseries", 12, 8, "percent",
     "Share of the vendor's workers busy, per queue of <QueueStats>.",
     {"calcs": ["lastNotNull", "max"]}),
    ("queue_bid", "Average bid per task", "timeseries", 12, 8, "currencyUSD",
     "The vendor's average cost of a task, per queue of <QueueStats>.",
     {"calcs": ["lastNotNull", "max"]}),
    ("row", "Hub pair (PairPeer)"),
    ("pair_peer", "Hub pair: peer up", "state-timeline", 12, 8, "none",
     "Per hub (collectd host): whether it hears its PairPeer.",
     {"mappings": PEER_STATES}),
    ("pair_reports", "Hub pair: reports", "timeseries", 12, 8, "short",
     "Per hour: the peer's share sent here (taken-over), confirmed by the peer "
     "(peer-reported), taken over and answered \"already reported\" (peer-refused), "
     "confirmations lost (unconfirmed); reports held back now (held).",
     {"draw": "bars", "calcs": ["sum", "lastNotNull"]}),
]


def field_defaults(ptype, unit, extra):
    d = {"unit": unit, "color": {"mode": "palette-classic"}}
    if ptype == "timeseries":
        bars = extra.get("draw") == "bars"
        d["custom"] = {
            "drawStyle": "bars" if bars else "line",
            "lineWidth": 1,
            "fillOpacity": 80 if bars else 10,
            "showPoints": "never" if bars else "auto",
            "spanNulls": False,
            "axisPlacement": "auto",
            "stacking": {"mode": "none", "group": "A"},
        }
        if not bars:
            d["min"] = 0
    elif ptype == "state-timeline":
        d["color"] = {"mode": "thresholds"}
        d["mappings"] = value_mappings(extra["mappings"])
        d["thresholds"] = thresholds((None, "green"))
        d["custom"] = {"fillOpacity": 80, "lineWidth": 0}
    else:
        d["color"] = {"mode": "thresholds" if "thresholds" in extra else "palette-classic"}
        d["thresholds"] = extra.get("thresholds", thresholds((None, "green")))
    return d


def panel_options(ptype, extra):
    calcs = extra.get("calcs", ["lastNotNull"])
    reduce = {"calcs": calcs[:1], "fields": "", "values": False}
    if ptype == "timeseries":
        return {"legend": dict(LEGEND_TABLE, calcs=calcs), "tooltip": TOOLTIP}
    if ptype == "stat":
        return {"reduceOptions": reduce, "colorMode": "value", "graphMode": "area",
                "justifyMode": "auto", "orientation": "auto", "textMode": "value_and_name",
                "wideLayout": True, "showPercentChange": False,
                "percentChangeColorMode": "standard"}
    if ptype == "bargauge":
        return {"reduceOptions": reduce, "orientation": "horizontal", "displayMode": "basic",
                "valueMode": "color", "namePlacement": "left", "showUnfilled": True,
                "sizing": "auto", "minVizHeight": 16, "minVizWidth": 8, "maxVizHeight": 300,
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False,
                           "calcs": []}}
    if ptype == "state-timeline":
        return {"mergeValues": True, "showValue": "auto", "alignValue": "left",
                "rowHeight": 0.9, "legend": {"displayMode": "list", "placement": "bottom",
                                             "showLegend": True, "calcs": []},
                "tooltip": TOOLTIP}
    raise ValueError(ptype)


def build(backend):
    info = BACKENDS[backend]
    ds = {"type": backend, "uid": "${datasource}"}
    panels, x, y, row_h, pid = [], 0, 0, 0, 0
    for spec in PANELS:
        pid += 1
        if spec[0] == "row":
            if x:
                y, x = y + row_h, 0
            panels.append({"type": "row", "title": spec[1], "id": pid, "collapsed": False,
                           "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
            y += 1
            row_h = 0
            continue
        key, title, ptype, w, h, unit, desc, extra = spec
        if x + w > 24:
            y, x, row_h = y + row_h, 0, 0
        targets = []
        for i, q in enumerate(QUERIES[key][backend]):
            targets.append(dict(q, refId="ABCDEFGH"[i], datasource=ds))
        p = {"id": pid, "type": ptype, "title": title, "description": desc, "datasource": ds,
             "gridPos": {"h": h, "w": w, "x": x, "y": y}, "maxDataPoints": MAX_POINTS,
             "targets": targets, "options": panel_options(ptype, extra),
             "fieldConfig": {"defaults": field_defaults(ptype, unit, extra), "overrides": []}}
        if "timeFrom" in extra:
            p["timeFrom"] = extra["timeFrom"]
        if extra.get("repeat_" + backend):
            p["repeat"] = extra["repeat_" + backend]
            p["repeatDirection"] = "h"
            p["maxPerRow"] = 2
            p["title"] = "%s: $%s" % (title, p["repeat"])
        if extra.get("hours_right"):
            p["fieldConfig"]["overrides"].append({
                "matcher": {"id": "byRegexp", "options": ".* hours left$"},
                "properties": [{"id": "unit", "value": "h"},
                               {"id": "custom.axisPlacement", "value": "right"}]})
        if backend == "influxdb" and key in INFLUX_RENAME:
            regex, pattern = INFLUX_RENAME[key]
            p["transformations"] = [{"id": "renameByRegex",
                                     "options": {"regex": regex, "renamePattern": pattern}}]
        panels.append(p)
        x += w
        row_h = max(row_h, h)
        if x >= 24:
            y, x, row_h = y + row_h, 0, 0

    return {
        "__inputs": inputs(backend),
        "__elements": {},
        "__requires": requires(backend),
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": "collectd-anticaptcha: Anti-Captcha spending, balance, quality "
                       "reports and API health from %s (see doc/dashboards.md)." % info["name"],
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [],
        "panels": panels,
        "refresh": "5m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["collectd", "anti-captcha"],
        "templating": {"list": variables(backend)},
        "time": {"from": "now-24h", "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "title": "Anti-Captcha (%s)" % info["name"],
        "uid": "anticaptcha-%s" % backend,
        "version": 1,
        "weekStart": "",
    }


def inputs(backend):
    info = BACKENDS[backend]
    out = [{"name": info["input"], "label": info["name"],
            "description": "The %s data source collectd writes to." % info["name"],
            "type": "datasource", "pluginId": backend, "pluginName": info["name"]}]
    if backend == "graphite":
        out.append({"name": "VAR_PREFIX", "type": "constant", "label": "write_graphite Prefix",
                    "value": "", "description": "write_graphite's Prefix, if you set one "
                    "(e.g. collectd.); empty by default."})
    return out


def requires(backend):
    out = [{"type": "grafana", "id": "grafana", "name": "Grafana", "version": GRAFANA_MIN},
           {"type": "datasource", "id": backend, "name": BACKENDS[backend]["name"],
            "version": "1.0.0"}]
    for ptype, name in (("bargauge", "Bar gauge"), ("stat", "Stat"),
                        ("state-timeline", "State timeline"), ("timeseries", "Time series")):
        out.append({"type": "panel", "id": ptype, "name": name, "version": ""})
    return out


# Variable queries: the accounts are the plugin instances that poll
# getSpendingStats; the queues those with hourly money.
VARIABLE_QUERIES = {
    "graphite": {
        "account": ("${prefix}*.anticaptcha-*", "/^anticaptcha-(?!queues$)(.+)$/"),
        "queue": ("${prefix}*.anticaptcha-$account.gauge-*-money_1h", "/^gauge-(.+)-money_1h$/"),
    },
    "influxdb": {
        "account": ('SHOW TAG VALUES FROM "anticaptcha_value" WITH KEY = "instance" '
                    'WHERE "type_instance" = \'getSpendingStats-requests\'', ""),
        "queue": ('SHOW TAG VALUES FROM "anticaptcha_value" WITH KEY = "type_instance" '
                  'WHERE "type_instance" =~ /-money_1h$/ AND "instance" =~ /^$account$/',
                  "/^(.+)-money_1h$/"),
    },
    "prometheus": {
        "account": ('label_values(collectd_anticaptcha_derive_total{type="getSpendingStats-requests"}, '
                    'anticaptcha)', ""),
        "queue": ('label_values(collectd_anticaptcha_gauge{anticaptcha=~"$account", '
                  'type=~".+-money_1h"}, type)', "/^(.+)-money_1h$/"),
    },
}


def variables(backend):
    info = BACKENDS[backend]
    ds = {"type": backend, "uid": "${datasource}"}
    out = [{"type": "datasource", "name": "datasource", "label": "Data source",
            "query": backend, "current": {"selected": False, "text": info["name"],
                                          "value": "${%s}" % info["input"]},
            "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1,
            "regex": "", "skipUrlSync": False}]
    if backend == "graphite":
        out.append({"type": "constant", "name": "prefix", "label": "write_graphite Prefix",
                    "query": "${VAR_PREFIX}", "hide": 2, "skipUrlSync": False,
                    "current": {"selected": False, "text": "${VAR_PREFIX}",
                                "value": "${VAR_PREFIX}"},
                    "options": [{"selected": True, "text": "${VAR_PREFIX}",
                                 "value": "${VAR_PREFIX}"}]})
    for name, label in (("account", "Account"), ("queue", "Queue")):
        query, regex = VARIABLE_QUERIES[backend][name]
        out.append({"type": "query", "name": name, "label": label, "datasource": ds,
                    "query": query, "regex": regex, "refresh": 2,
                    "sort": 1, "multi": True, "includeAll": True, "hide": 0,
                    "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                    "options": [], "skipUrlSync": False})
    return out


def render(backend):
    return json.dumps(build(backend), indent=2, ensure_ascii=False) + "\n"


def main(argv):
    check = "--check" in argv
    stale = []
    for backend in BACKENDS:
        path = os.path.join(HERE, backend + ".json")
        text = render(backend)
        try:
            with open(path, encoding="utf-8") as f:
                same = f.read() == text
        except FileNotFoundError:
            same = False
        if same:
            continue
        if check:
            stale.append(path)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print("wrote %s" % path)
    if stale:
        print("not what dashboards/generate.py writes (run it): %s" % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
