"""A small, realistic chain for the panel's screenshots: Persian names, phone numbers that
are plainly fake (0912 000 0xxx), three branches, a few kiosks (one needing attention, one
waiting for its code), a month of purchases, rewards and adjustments, two program
versions. Written into a test hub's database as the bench writes its data set (bench/panel.py),
at a size a person can read on one page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg

from tests.hub.conftest import Hub

BRANCHES = ("ولیعصر", "تجریش", "ونک")
FIRST = ("مریم", "علی", "زهرا", "رضا", "فاطمه", "حسین", "نرگس", "مهدی", "سارا", "امیر")
LAST = ("محمدی", "حسینی", "رضایی", "کریمی", "موسوی", "احمدی", "جعفری", "صادقی")
MEMBERS = 48
# The member whose page is shown: an id as a kiosk makes one (a UUID).
SHOWN = "5c1f9e2a-7d41-4b8e-9a63-0f2d8c4e1b07"


def member_id(i: int) -> str:
    return SHOWN if i == 1 else f"5c1f9e2a-7d41-4b8e-9a63-{i:012d}"


_MEMBERS = """
INSERT INTO hub_member (member_id, status, created_at, updated_at, received_at, phone, name,
                        birthday, language, consent_marketing, consent_version, consent_at)
SELECT m.id, 'active', at, at, at, '+989120000' || lpad(i::text, 3, '0'),
       (%(first)s::text[])[1 + i %% 10] || ' ' || (%(last)s::text[])[1 + (i / 10 + i) %% 8],
       CASE WHEN i %% 6 = 0  -- a birthday in the coming weeks, 25 to 55 years ago
            THEN (current_date + (i %% 25)::int - make_interval(years => 25 + (i %% 30)::int))::date
            ELSE date '1975-01-01' + ((i * 397) %% 11000)::int END,
       CASE WHEN i %% 7 = 0 THEN 'en' ELSE 'fa' END, i %% 3 <> 0, '2026-01', at
FROM (SELECT i, m AS id,
             now() - CASE WHEN i %% 5 = 0  -- one in five joined this month
                          THEN (i %% 28) * interval '1 day' + interval '2 hours'
                          ELSE (40 + (i * 37) %% 300) * interval '1 day' END AS at
      FROM unnest(%(ids)s::text[]) WITH ORDINALITY AS u(m, i)) m
"""
_CARDS = """
INSERT INTO hub_card (uid, status, member_id)
SELECT upper(substr(md5(member_id), 1, 8)), 'active', member_id FROM hub_member
"""
_BRANCH_MEMBERS = """
INSERT INTO hub_branch_member (branch_id, member_id, since)
SELECT b.id, m.member_id, m.created_at
FROM hub_member m JOIN hub_branch b
  ON b.name = (%(branches)s::text[])[1 + abs(hashtext(m.member_id)) %% 3]
"""
# Two kiosks a branch, heard from a minute ago; one at Vanak silent for three hours.
_DEVICES = """
INSERT INTO hub_device (branch_id, device_id, secret, created_at, enrolled_at, last_seen_at,
                        last_heartbeat)
SELECT b.id, 'kiosk-' || b.id || '-' || k, '\\x00'::bytea, now() - interval '60 days',
       now() - interval '60 days',
       now() - CASE WHEN b.name = %(quiet)s AND k = 1 THEN interval '3 hours'
                    ELSE interval '1 minute' END,
       jsonb_build_object('version', '0.1.0', 'queue_depth', (b.id + k) %% 3,
                          'oldest_unsynced_at', NULL, 'disk_free_bytes', 6442450944 + k,
                          'clock_offset_ms', -40 + 30 * k,
                          'readers', jsonb_build_array(
                              jsonb_build_object('name', 'nfc', 'state', 'connected'),
                              jsonb_build_object('name', 'qr', 'state', 'connected')))
FROM hub_branch b CROSS JOIN generate_series(0, 1) k
WHERE b.name = ANY(%(branches)s::text[])
"""
# A month of a small chain's counter: purchases mostly, some rewards, a few adjustments.
_ENTRIES = """
INSERT INTO hub_entry (device_id, entry_id, seq, status, member_id, kind, points, amount,
                       currency, created_at, reward_id, reason, as_pushed, received_at)
SELECT d.id, md5('demo' || g), g, 'stored', m.member_id, kind,
       CASE kind WHEN 'earn' THEN pts WHEN 'redeem' THEN -%(cost)s ELSE 20 END,
       CASE WHEN kind = 'earn' THEN pts * 10000 * 10 + (g %% 7) * 50000 END,
       CASE WHEN kind = 'earn' THEN 'IRR' END,
       at, CASE WHEN kind = 'redeem' THEN %(reward)s END,
       CASE WHEN kind = 'adjust' THEN 'جبران خرید ثبت‌نشده' END, '{}', at
FROM (SELECT g, 1 + (g * 7919) %% %(members)s AS who, 1 + (g * 31) %% 120 AS pts,
             CASE WHEN g %% 13 = 0 THEN 'redeem' WHEN g %% 29 = 0 THEN 'adjust' ELSE 'earn' END
                 AS kind,
             date_trunc('hour', now()) - ((g * 53) %% (30 * 24)) * interval '1 hour'
                 - (g %% 60) * interval '1 minute' AS at
      FROM generate_series(1, %(entries)s) g) e
JOIN LATERAL (SELECT (%(ids)s::text[])[e.who] AS member_id) m ON true
JOIN hub_branch_member bm ON bm.member_id = m.member_id
JOIN LATERAL (SELECT id FROM hub_device
              WHERE branch_id = bm.branch_id AND device_id LIKE 'kiosk-%%'
              ORDER BY id LIMIT 1 OFFSET e.g %% 2) d ON true
"""
# The member shown has been to every branch: their page's history crosses branches.
_ELSEWHERE = """
WITH other AS (
    INSERT INTO hub_branch_member (branch_id, member_id, since)
    SELECT id, %(shown)s, now() - interval '20 days' FROM hub_branch
    WHERE name = ANY(%(branches)s::text[])
      AND id NOT IN (SELECT branch_id FROM hub_branch_member WHERE member_id = %(shown)s)
    RETURNING branch_id
)
INSERT INTO hub_entry (device_id, entry_id, seq, status, member_id, kind, points, amount,
                       currency, created_at, as_pushed, received_at)
SELECT d.id, md5('elsewhere' || d.id || k), 100000 + k, 'stored', %(shown)s, 'earn', 45,
       4500000, 'IRR', now() - (3 + 5 * k) * interval '1 day', '{}', now()
FROM other JOIN hub_device d ON d.branch_id = other.branch_id AND d.device_id LIKE '%%-0'
CROSS JOIN generate_series(0, 1) k
"""
# A third of the purchases rated at the counter, mostly well (the feedback page's month).
_RATINGS = """
INSERT INTO hub_visit_rating (entry_id, device_id, branch_id, rating, reasons, rated_at,
                              version, received_at)
SELECT e.id, e.device_id, d.branch_id,
       CASE WHEN e.seq %% 10 < 5 THEN 5 WHEN e.seq %% 10 < 8 THEN 4
            WHEN e.seq %% 10 = 8 THEN 3 WHEN e.seq %% 20 = 9 THEN 2 ELSE 1 END,
       CASE e.seq %% 5 WHEN 0 THEN 'staff,quality' WHEN 1 THEN 'price' WHEN 2 THEN ''
                       WHEN 3 THEN 'waiting' ELSE 'choice,cleanliness' END,
       e.created_at + interval '1 minute', 1, now()
FROM hub_entry e JOIN hub_device d ON d.id = e.device_id
WHERE e.kind = 'earn' AND e.seq %% 3 = 0
"""
_BALANCES = """
INSERT INTO hub_balance (member_id, balance, updated_at)
SELECT member_id, greatest(sum(points), 0), now() FROM hub_entry
WHERE member_id IS NOT NULL GROUP BY member_id
"""


def seed(hub: Hub, folder: Path) -> None:
    """Branches, members, kiosks, a month of entries and a second program version."""
    for name in BRANCHES:
        hub.run("branch", "add", name)
    program = hub.json("program", "show", "--json")
    reward = program["rewards"][0]
    ids = [member_id(i) for i in range(1, MEMBERS + 1)]
    params: dict[str, Any] = {
        "first": list(FIRST),
        "last": list(LAST),
        "ids": ids,
        "branches": list(BRANCHES),
        "quiet": BRANCHES[2],
        "members": MEMBERS,
        "entries": 900,
        "reward": reward["id"],
        "cost": int(reward["cost"]),
        "shown": SHOWN,
    }
    with psycopg.connect(hub.postgres.url(hub.database)) as conn:
        statements = (_MEMBERS, _CARDS, _BRANCH_MEMBERS, _DEVICES, _ENTRIES, _ELSEWHERE, _RATINGS)
        for statement in statements:
            conn.execute(statement, params)
        conn.execute(_BALANCES)
    # A kiosk added and not yet set up: its code is still to be typed.
    hub.run("device", "add", "--branch", BRANCHES[2])
    # A second version: gold earns one and a quarter times, for the history's comparison.
    for tier in program["tiers"]:
        if tier is program["tiers"][-1]:
            tier["multiplier"] = "1.25"
    changed = folder / "program.json"
    changed.write_text(json.dumps(program, ensure_ascii=False))
    hub.run("program", "publish", str(changed))
